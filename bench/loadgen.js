// Load generator for the benchmark: a raw Engine.IO v4 / Socket.IO v5 client over WebSocket.
//
// Usage: node loadgen.js '<json spec>'
//
// The spec names a scenario (latency, throughput, fanout, connect) and its bounds; every
// scenario stops on its own, by count or by time, and the whole run by `deadline`.
// Around the measured window the load generator prints {"mark": "start"} and
// {"mark": "end"} on stdout and waits for one line on stdin each time, so that the harness
// can sample the server process exactly then. With "marks": false it does not wait.
// The last line on stdout is {"result": {...}}, or {"error": "..."} with exit status 1.
//
// The protocol, as much of it as the benchmark needs:
//   server -> 0{"sid":...,"pingInterval":...}   Engine.IO open
//   client -> 40                                  Socket.IO connect to namespace "/"
//   server -> 40{"sid":...}                       connected (44{...} is a refusal)
//   client -> 42<id>["echo",x]                    event with ack id
//   server -> 43<id>[x]                           its acknowledgement
//   server -> 42["msg",x]                         event
//   server -> 2, client -> 3                      ping / pong
"use strict";

const crypto = require("crypto");
const net = require("net");
const readline = require("readline");

const spec = JSON.parse(process.argv[2] || "{}");
const now = () => performance.now(); // milliseconds, sub-microsecond resolution

// ---------------------------------------------------------------------------------------
// Talking to the harness

const stdinLines = [];
const stdinWaiters = [];
if (spec.marks !== false) {
  const rl = readline.createInterface({ input: process.stdin });
  rl.on("line", (line) => {
    const waiter = stdinWaiters.shift();
    if (waiter) waiter(line);
    else stdinLines.push(line);
  });
}

function emitLine(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

// Print a mark and wait until the harness has sampled the server.
function mark(name) {
  emitLine({ mark: name });
  if (spec.marks === false) return Promise.resolve();
  if (stdinLines.length) return Promise.resolve(stdinLines.shift());
  return new Promise((resolve) => stdinWaiters.push(resolve));
}

function fail(message) {
  emitLine({ error: message });
  process.exit(1);
}

const deadline = setTimeout(
  () => fail(`scenario ${spec.scenario} did not finish within ${spec.deadline} s`),
  (spec.deadline || 120) * 1000,
);

// ---------------------------------------------------------------------------------------
// The client

// A minimal WebSocket client (RFC 6455) on a raw TCP socket: the HTTP upgrade by hand,
// masked text frames out, unmasked frames in. The `ws` package's client spends most of a
// connect waiting inside its HTTP machinery, which caps it far below what the servers
// accept; this one keeps the load generator out of the way.

const ZERO = 48;
const NINE = 57;

let maskState = crypto.getRandomValues(new Uint32Array(1))[0] || 1;
function nextMask() {
  // xorshift32: a different masking key for every frame, cheaply
  maskState ^= maskState << 13;
  maskState ^= maskState >>> 17;
  maskState ^= maskState << 5;
  return maskState >>> 0;
}

function encodeFrame(opcode, payload) {
  const length = payload.length;
  const headerLength = length < 126 ? 6 : length < 65536 ? 8 : 14;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) {
    frame[1] = 0x80 | length;
  } else if (length < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.writeUInt32BE(nextMask(), headerLength - 4);
  for (let i = 0; i < length; i++) {
    frame[headerLength + i] = payload[i] ^ frame[headerLength - 4 + (i & 3)];
  }
  return frame;
}

class Client {
  constructor(url) {
    this.url = new URL(url);
    this.socket = null;
    this.sid = null;
    this.nextId = 0;
    this.pending = new Map(); // ack id -> callback(receivedAt)
    this.onEvent = null; // (message text, receivedAt) for 42 packets
    this.closed = false;
    this.upgraded = false;
    this.buffer = Buffer.alloc(0);
    this.fragments = [];
  }

  // Open the websocket and connect to namespace "/"; resolves with the connect time in ms.
  connect(timeoutMs) {
    const started = now();
    return new Promise((resolve, reject) => {
      const settle = (err) => {
        clearTimeout(timer);
        this.onConnected = null;
        if (err) {
          this.terminate();
          reject(err);
        } else resolve(now() - started);
      };
      const timer = setTimeout(
        () => settle(new Error(`connect timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.onConnected = settle;
      const socket = net.connect(Number(this.url.port), this.url.hostname);
      this.socket = socket;
      socket.setNoDelay(true);
      socket.on("connect", () => {
        const key = crypto.randomBytes(16).toString("base64");
        socket.write(
          `GET ${this.url.pathname}${this.url.search} HTTP/1.1\r\n` +
            `Host: ${this.url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
      socket.on("data", (chunk) => this.receive(chunk));
      socket.on("error", (err) => {
        if (this.onConnected) this.onConnected(err);
      });
      socket.on("close", () => {
        this.closed = true;
        if (this.onConnected) this.onConnected(new Error("closed before the namespace connect"));
      });
    });
  }

  receive(chunk) {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    if (!this.upgraded) {
      const end = this.buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = this.buffer.toString("latin1", 0, end);
      if (!/^HTTP\/1\.1 101/.test(head)) {
        if (this.onConnected) this.onConnected(new Error(`upgrade refused: ${head.split("\r\n")[0]}`));
        return;
      }
      this.upgraded = true;
      this.buffer = this.buffer.subarray(end + 4);
    }
    let buf = this.buffer;
    while (buf.length >= 2) {
      const opcode = buf[0] & 0x0f;
      const fin = buf[0] & 0x80;
      let length = buf[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buf.length < 4) break;
        length = buf.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buf.length < 10) break;
        length = Number(buf.readBigUInt64BE(2));
        offset = 10;
      }
      if (buf[1] & 0x80) offset += 4; // servers do not mask, but a mask would be skipped here
      if (buf.length < offset + length) break;
      const payload = buf.subarray(offset, offset + length);
      buf = buf.subarray(offset + length);
      if (opcode === 0x1 || opcode === 0x0) {
        this.fragments.push(payload);
        if (fin) {
          const text =
            this.fragments.length === 1
              ? this.fragments[0].toString()
              : Buffer.concat(this.fragments).toString();
          this.fragments = [];
          this.handle(text);
        }
      } else if (opcode === 0x9) {
        this.socket.write(encodeFrame(0xa, payload));
      } else if (opcode === 0x8) {
        this.terminate();
      }
    }
    this.buffer = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
  }

  handle(text) {
    const c0 = text.charCodeAt(0);
    if (c0 === 52 /* 4: message */) {
      const c1 = text.charCodeAt(1);
      if (c1 === 51 /* 3: ack */) this.handleAck(text);
      else if (c1 === 50 /* 2: event */) {
        if (this.onEvent) this.onEvent(text, now());
      } else if (c1 === 48 /* 0: connected */) {
        this.sid = JSON.parse(text.slice(2)).sid;
        if (this.onConnected) this.onConnected(null);
      } else if (c1 === 52 /* 4: connect error */) {
        if (this.onConnected) this.onConnected(new Error(`connect refused: ${text.slice(2)}`));
      }
    } else if (c0 === 50 /* 2: ping */) {
      this.send("3");
    } else if (c0 === 48 /* 0: open */) {
      this.send("40");
    }
  }

  handleAck(text) {
    let id = 0;
    for (let i = 2; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < ZERO || c > NINE) break;
      id = id * 10 + (c - ZERO);
    }
    const callback = this.pending.get(id);
    if (callback) {
      this.pending.delete(id);
      callback(now());
    }
  }

  send(text) {
    this.socket.write(encodeFrame(0x1, Buffer.from(text)));
  }

  // Send an event with an ack id; `callback(receivedAt)` runs when the ack arrives.
  call(name, payloadJson, callback) {
    const id = this.nextId++;
    this.pending.set(id, callback);
    this.send(`42${id}["${name}",${payloadJson}]`);
  }

  // Send an event without an ack id.
  emit(name, payloadJson) {
    this.send(`42["${name}",${payloadJson}]`);
  }

  terminate() {
    this.closed = true;
    if (this.socket) this.socket.destroy();
  }
}

// Connect `count` clients, at most `concurrency` at a time.
async function connectMany(count, concurrency, timeoutMs, url = spec.url) {
  const clients = [];
  const connectTimes = [];
  const errors = [];
  let next = 0;
  async function worker() {
    while (next < count) {
      next++;
      const client = new Client(url);
      try {
        connectTimes.push(await client.connect(timeoutMs));
        clients.push(client);
      } catch (err) {
        errors.push(String(err && err.message ? err.message : err));
      }
    }
  }
  const workers = [];
  for (let i = 0; i < Math.min(concurrency, count); i++) workers.push(worker());
  await Promise.all(workers);
  return { clients, connectTimes, errors };
}

async function connectAll(count, url = spec.url) {
  const { clients, errors } = await connectMany(
    count,
    spec.concurrency || 50,
    (spec.connect_timeout || 10) * 1000,
    url,
  );
  if (errors.length) {
    fail(`${errors.length} of ${count} clients failed to connect; first: ${errors[0]}`);
  }
  return clients;
}

// ---------------------------------------------------------------------------------------
// Measurement helpers

function percentiles(values) {
  if (!values.length) return {};
  const sorted = Float64Array.from(values).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    p50_ms: at(0.5),
    p90_ms: at(0.9),
    p99_ms: at(0.99),
    max_ms: sorted[sorted.length - 1],
    mean_ms: sum / sorted.length,
  };
}

// CPU time of this process, in microseconds.
function cpuMicros() {
  const u = process.cpuUsage();
  return u.user + u.system;
}

// Start the measured window: mark, then note wall and CPU time.
async function openWindow() {
  await mark("start");
  return { wall: now(), cpu: cpuMicros() };
}

// Close the measured window, mark, and return its wall seconds and client CPU figures.
async function closeWindow(opened) {
  const wallMs = now() - opened.wall;
  const cpuUs = cpuMicros() - opened.cpu;
  await mark("end");
  return {
    window_s: wallMs / 1000,
    client_cpu_s: cpuUs / 1e6,
    client_cpu_util: cpuUs / 1000 / wallMs,
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function payload(seq) {
  return JSON.stringify({ seq, text: spec.text || "the quick brown fox" });
}

// Wait until no ack is pending on any client, or `ms` have passed.
async function drain(clients, ms) {
  const until = now() + ms;
  while (now() < until && clients.some((c) => c.pending.size)) await sleep(5);
}

// ---------------------------------------------------------------------------------------
// Scenarios

// Ack round-trip latency: every client sends echo and waits for its ack, one at a time.
async function latency() {
  const clients = await connectAll(spec.clients);
  const samples = [];
  const maxSamples = spec.count || 1e9;
  let recording = false;
  let running = true;

  function loop(client) {
    return new Promise((resolve) => {
      let seq = 0;
      const step = () => {
        if (!running) return resolve();
        const sent = now();
        client.call("echo", payload(seq++), (received) => {
          if (recording) {
            samples.push(received - sent);
            if (samples.length >= maxSamples) running = false;
          }
          step();
        });
      };
      step();
    });
  }

  const loops = clients.map(loop);
  await sleep((spec.warmup || 0) * 1000);
  const window = await openWindow();
  recording = true;
  const stopAt = now() + spec.duration * 1000;
  while (running && now() < stopAt) await sleep(Math.min(20, Math.max(1, stopAt - now())));
  recording = false;
  const figures = await closeWindow(window);
  running = false;
  await Promise.race([Promise.all(loops), sleep(5000)]);
  return {
    clients: clients.length,
    events: samples.length,
    events_per_s: samples.length / figures.window_s,
    ...percentiles(samples),
    ...figures,
  };
}

// Pipelined throughput: every client keeps `inflight` echo events outstanding.
async function throughput() {
  const clients = await connectAll(spec.clients);
  const inflight = spec.inflight || 16;
  const samples = [];
  let counted = 0;
  let recording = false;
  let running = true;

  function send(client, seq) {
    const sent = now();
    client.call("echo", payload(seq), (received) => {
      if (recording) {
        counted++;
        if ((counted & 15) === 0) samples.push(received - sent); // a sample of the latencies
      }
      if (running) send(client, seq + inflight);
    });
  }

  for (const client of clients) for (let i = 0; i < inflight; i++) send(client, i);
  await sleep((spec.warmup || 0) * 1000);
  const window = await openWindow();
  recording = true;
  await sleep(spec.duration * 1000);
  recording = false;
  const events = counted;
  const figures = await closeWindow(window);
  running = false;
  await drain(clients, 5000);
  return {
    clients: clients.length,
    inflight_per_client: inflight,
    events,
    events_per_s: events / figures.window_s,
    ...percentiles(samples),
    ...figures,
  };
}

// Broadcast fan-out: one client asks the server to emit `msg` to the room every client is
// in, then waits for the last delivery before the next round. With `trigger_url` (the
// message-queue scenario) that one client is connected to another server process, and
// the `clients` connected to `url` receive what crosses the message queue.
async function fanout() {
  const clients = await connectAll(spec.clients);
  const trigger = spec.trigger_url ? (await connectAll(1, spec.trigger_url))[0] : clients[0];
  const n = clients.length;
  const roundTimeoutMs = (spec.round_timeout || 10) * 1000;
  let round = null; // { seq, delivered, sentAt, resolve }

  for (const client of clients) {
    client.onEvent = (text, receivedAt) => {
      // 42["msg",{"seq":N,...}]
      if (!round || !text.startsWith('42["msg",')) return;
      const data = JSON.parse(text.slice(2))[1];
      if (data.seq !== round.seq) return;
      round.delivered++;
      if (round.delivered === n) round.resolve(receivedAt);
    };
  }

  async function broadcastOnce(seq) {
    const done = new Promise((resolve) => {
      round = { seq, delivered: 0, resolve };
    });
    const sentAt = now();
    trigger.emit("broadcast", payload(seq));
    const last = await Promise.race([done, sleep(roundTimeoutMs).then(() => null)]);
    const delivered = round.delivered;
    round = null;
    return { delivered, ms: last === null ? null : last - sentAt };
  }

  let seq = 0;
  for (let i = 0; i < (spec.warmup_rounds || 0); i++) await broadcastOnce(seq++);
  const window = await openWindow();
  const times = [];
  let delivered = 0;
  let incomplete = 0;
  const stopAt = now() + spec.duration * 1000;
  while (times.length + incomplete < spec.rounds && now() < stopAt) {
    const result = await broadcastOnce(seq++);
    delivered += result.delivered;
    if (result.ms === null) incomplete++;
    else times.push(result.ms);
  }
  const figures = await closeWindow(window);
  const ttl = percentiles(times);
  return {
    clients: n,
    rounds: times.length + incomplete,
    incomplete_rounds: incomplete,
    deliveries: delivered,
    deliveries_per_s: delivered / figures.window_s,
    last_delivery_p50_ms: ttl.p50_ms,
    last_delivery_p99_ms: ttl.p99_ms,
    last_delivery_max_ms: ttl.max_ms,
    ...figures,
  };
}

// Connection scale: open `clients` idle connections, `concurrency` at a time.
async function connect() {
  // A few connections before the window pay the one-time costs (lazy imports, first
  // allocations), so that the window sees only what each further connection costs.
  const warm = await connectAll(spec.warmup_clients || 0);
  const window = await openWindow();
  const started = now();
  const { clients, connectTimes, errors } = await connectMany(
    spec.clients,
    spec.concurrency || 50,
    (spec.connect_timeout || 10) * 1000,
  );
  const connectSeconds = (now() - started) / 1000;
  await sleep((spec.settle || 0) * 1000);
  const figures = await closeWindow(window);
  const open = clients.filter((c) => !c.closed).length;
  const lat = percentiles(connectTimes);
  return {
    clients: spec.clients,
    warmup_clients: warm.length,
    connected: clients.length,
    still_open: open,
    failed: errors.length,
    first_error: errors[0] || null,
    connect_s: connectSeconds,
    connects_per_s: clients.length / connectSeconds,
    connect_p50_ms: lat.p50_ms,
    connect_p99_ms: lat.p99_ms,
    ...figures,
  };
}

const scenarios = { latency, throughput, fanout, connect };

async function main() {
  const run = scenarios[spec.scenario];
  if (!run) fail(`unknown scenario ${JSON.stringify(spec.scenario)}`);
  const cpuAtStart = cpuMicros();
  const result = await run();
  result.client_cpu_total_s = (cpuMicros() - cpuAtStart) / 1e6;
  clearTimeout(deadline);
  emitLine({ result });
  process.exit(0); // drops every connection at once; the harness stops the server next
}

main().catch((err) => fail(String(err && err.stack ? err.stack : err)));

/*
 * A small Socket.IO v5 client (Engine.IO v4, websocket transport only) for one namespace.
 *
 *   var link = new MonitorSocket({path: "/socket.io/", namespace: "/sockevents"});
 *   link.on("delta", function (data) { ... });
 *   link.onstate = function (state, detail) { ... };  // connecting | live | refused | down
 *   link.emit("snapshot", function (data) { ... });   // with an acknowledgement
 *   link.open();
 *
 * Packets are text: "0{...}" open, "2"/"3" ping/pong, "4" + Socket.IO packet
 * ("0" connect, "1" disconnect, "2" event, "3" ack, "4" connect error),
 * e.g. '42/sockevents,["delta",{...}]'. Reconnects with exponential backoff.
 */
(function (global) {
  "use strict";

  function MonitorSocket(options) {
    this.path = options.path || "/socket.io/";
    this.namespace = options.namespace || "/";
    this.auth = options.auth || {};
    this.minDelay = options.minDelay || 500;
    this.maxDelay = options.maxDelay || 10000;
    this.handlers = {};
    this.acks = {};
    this.nextAck = 1;
    this.attempts = 0;
    this.ws = null;
    this.state = "down";
    this.id = null;
    this.closed = false;
    this.retryTimer = null;
    this.pingTimer = null;
    this.onstate = null;
  }

  MonitorSocket.prototype.url = function () {
    var scheme = global.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + global.location.host + this.path + "?EIO=4&transport=websocket";
  };

  MonitorSocket.prototype.on = function (name, handler) {
    this.handlers[name] = handler;
    return this;
  };

  MonitorSocket.prototype.setState = function (state, detail) {
    this.state = state;
    if (this.onstate) this.onstate(state, detail);
  };

  MonitorSocket.prototype.open = function () {
    var self = this;
    this.closed = false;
    this.setState("connecting");
    var ws;
    try {
      ws = new WebSocket(this.url());
    } catch (err) {
      this.retry("cannot open websocket");
      return;
    }
    this.ws = ws;
    ws.onmessage = function (message) {
      if (self.ws === ws && typeof message.data === "string") self.receive(message.data);
    };
    ws.onclose = function () {
      if (self.ws === ws) self.retry("connection lost");
    };
    ws.onerror = function () { /* onclose follows */ };
  };

  MonitorSocket.prototype.close = function () {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.pingTimer);
    if (this.ws) {
      var ws = this.ws;
      this.ws = null;
      ws.close();
    }
    this.setState("down", "closed");
  };

  MonitorSocket.prototype.retry = function (why, slower) {
    var self = this;
    clearTimeout(this.pingTimer);
    if (this.ws) {
      var ws = this.ws;
      this.ws = null;
      try { ws.close(); } catch (err) { /* already closed */ }
    }
    this.id = null;
    this.failPendingAcks();
    if (this.closed) return;
    this.attempts += 1;
    var delay = Math.min(this.maxDelay, this.minDelay * Math.pow(2, this.attempts - 1));
    if (slower) delay = this.maxDelay;
    delay = delay * (0.8 + Math.random() * 0.4);
    if (this.state !== "refused") this.setState("down", why + ", retrying in " + Math.round(delay / 1000) + " s");
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(function () { self.open(); }, delay);
  };

  MonitorSocket.prototype.failPendingAcks = function () {
    var acks = this.acks;
    this.acks = {};
    for (var id in acks) if (Object.prototype.hasOwnProperty.call(acks, id)) acks[id](null);
  };

  MonitorSocket.prototype.send = function (text) {
    if (this.ws && this.ws.readyState === 1) this.ws.send(text);
  };

  MonitorSocket.prototype.prefix = function () {
    return this.namespace === "/" ? "" : this.namespace + ",";
  };

  MonitorSocket.prototype.watchdog = function (timeout) {
    var self = this;
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(function () { self.retry("server stopped answering"); }, timeout);
  };

  MonitorSocket.prototype.receive = function (data) {
    var type = data.charAt(0);
    if (type === "0") {                 // Engine.IO open
      var open = JSON.parse(data.slice(1));
      this.pingTimeout = (open.pingInterval || 25000) + (open.pingTimeout || 20000);
      this.watchdog(this.pingTimeout);
      this.send("40" + this.prefix() + JSON.stringify(this.auth));
    } else if (type === "2") {          // ping
      this.send("3");
      this.watchdog(this.pingTimeout);
    } else if (type === "1") {          // close
      this.retry("server closed the connection");
    } else if (type === "4") {          // a Socket.IO packet
      this.receivePacket(data.slice(1));
    }
  };

  MonitorSocket.prototype.receivePacket = function (data) {
    var type = data.charAt(0);
    var rest = data.slice(1);
    var namespace = "/";
    if (rest.charAt(0) === "/") {
      var comma = rest.indexOf(",");
      namespace = comma < 0 ? rest : rest.slice(0, comma);
      rest = comma < 0 ? "" : rest.slice(comma + 1);
    }
    if (namespace !== this.namespace) return;
    var digits = /^\d*/.exec(rest)[0];
    var id = digits ? parseInt(digits, 10) : null;
    var payload = rest.slice(digits.length);
    var body = payload ? JSON.parse(payload) : null;
    if (type === "0") {                 // connected to the namespace
      this.id = body && body.sid;
      this.attempts = 0;
      this.setState("live");
      if (this.handlers.connect) this.handlers.connect();
    } else if (type === "4") {          // connect error: refused
      this.setState("refused", (body && body.message) || "refused");
      this.retry("refused", true);
    } else if (type === "1") {          // disconnected by the server
      this.retry("disconnected by the server");
    } else if (type === "2" && body && body.length) {
      var handler = this.handlers[body[0]];
      if (handler) handler.apply(null, body.slice(1));
    } else if (type === "3" && id !== null && this.acks[id]) {
      var ack = this.acks[id];
      delete this.acks[id];
      ack.apply(null, body || []);
    }
  };

  MonitorSocket.prototype.emit = function (name) {
    var args = Array.prototype.slice.call(arguments);
    var ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    var id = "";
    if (ack) {
      id = String(this.nextAck++);
      this.acks[id] = ack;
    }
    this.send("42" + this.prefix() + id + JSON.stringify(args));
  };

  global.MonitorSocket = MonitorSocket;
})(window);

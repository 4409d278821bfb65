// The chat page: one Socket.IO connection to "/" for the chat, one to "/bus"
// for the bus panel (both share a single WebSocket).
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const BUS_ROWS = 200;

  function showBanner(text) {
    const banner = $("banner");
    banner.textContent = text;
    banner.hidden = false;
  }

  if (typeof io === "undefined") {
    showBanner(
      "The Socket.IO JavaScript client did not load. Run `make run` from the repository " +
        "root (or `npm install` in examples/chat), then reload.",
    );
    setStatus("offline", "no client");
    return;
  }

  // Close the connection when the page goes away, so the room sees the member
  // leave at once rather than when the server's ping times out.
  const options = {
    transports: ["websocket", "polling"],
    tryAllTransports: true,
    closeOnBeforeunload: true,
  };
  const socket = io(options);
  const bus = io("/bus", options);
  const me = { name: null, room: null };
  window.chat = { socket, bus, me };

  // ---- helpers -------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function clock(seconds) {
    return new Date(seconds * 1000).toLocaleTimeString([], {
      hour: "2-digit",
      minute: "2-digit",
    });
  }

  function hue(text) {
    let h = 0;
    for (const ch of text) h = (h * 31 + ch.codePointAt(0)) % 360;
    return h;
  }

  function avatar(name) {
    const node = el("span", "avatar", name.slice(0, 1).toUpperCase());
    node.style.setProperty("--hue", hue(name));
    return node;
  }

  function setStatus(state, text) {
    $("status").dataset.state = state;
    $("status-text").textContent = text;
  }

  // ---- chat ----------------------------------------------------------------

  function addMessage(message) {
    const list = $("messages");
    const item = el("li", message.kind === "notice" ? "notice" : "message");
    if (message.kind === "notice") {
      item.append(el("span", null, message.text));
    } else {
      if (message.name === me.name) item.classList.add("mine");
      const body = el("div", "body");
      const meta = el("div", "meta");
      meta.append(el("span", "author", message.name), el("time", null, clock(message.at)));
      body.append(meta, el("p", "text", message.text));
      item.append(avatar(message.name), body);
    }
    list.append(item);
    list.scrollTop = list.scrollHeight;
  }

  function showMembers(room, names) {
    $("members-room").textContent = "#" + room;
    $("members-count").textContent = names.length;
    const list = $("members");
    list.replaceChildren(
      ...names.map((name) => {
        const item = el("li", name === me.name ? "me" : null);
        item.append(avatar(name), el("span", "member-name", name));
        return item;
      }),
    );
  }

  function showRooms(rooms) {
    const list = $("rooms");
    list.replaceChildren(
      ...rooms.map((room) => {
        const item = el("li");
        const button = el("button", "room" + (room.name === me.room ? " current" : ""));
        button.type = "button";
        button.dataset.room = room.name;
        button.append(el("span", null, "#" + room.name), el("span", "count", room.members));
        button.addEventListener("click", () => join(me.name, room.name));
        item.append(button);
        return item;
      }),
    );
  }

  function enterRoom(reply) {
    me.name = reply.name;
    me.room = reply.room;
    $("join-overlay").hidden = true;
    $("whoami").hidden = false;
    $("whoami-name").textContent = reply.name;
    $("whoami-room").textContent = "#" + reply.room;
    $("whoami-avatar").replaceWith(Object.assign(avatar(reply.name), { id: "whoami-avatar" }));
    $("room-title").textContent = "#" + reply.room;
    $("messages").replaceChildren();
    reply.history.forEach(addMessage);
    showMembers(reply.room, reply.names);
    for (const button of document.querySelectorAll("#rooms .room")) {
      button.classList.toggle("current", button.dataset.room === reply.room);
    }
    const input = $("message");
    input.disabled = false;
    input.placeholder = "Message #" + reply.room;
    $("send").disabled = false;
    input.focus();
  }

  async function join(name, room) {
    const reply = await socket.emitWithAck("join", { name, room });
    if (!reply.ok) {
      if (me.room) showBanner(reply.error);
      else $("join-error").textContent = reply.error;
      return false;
    }
    $("banner").hidden = true;
    $("join-error").textContent = "";
    enterRoom(reply);
    return true;
  }

  $("join-form").addEventListener("submit", (event) => {
    event.preventDefault();
    join($("name").value, $("room").value);
  });

  $("switch-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("switch-room");
    if (await join(me.name, input.value)) input.value = "";
  });

  $("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("message");
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    const reply = await socket.emitWithAck("chat message", { text });
    if (!reply.ok) {
      input.value = text;
      showBanner(reply.error);
    }
  });

  socket.on("chat message", addMessage);
  socket.on("notice", addMessage);
  socket.on("members", (update) => {
    if (update.room === me.room) showMembers(update.room, update.names);
  });
  socket.on("rooms", showRooms);

  socket.on("connect", () => {
    setStatus("online", "connected");
    // After a reconnect the server has forgotten us: join again.
    if (me.name) join(me.name, me.room);
  });
  socket.on("disconnect", () => setStatus("offline", "disconnected"));
  socket.on("connect_error", (error) => setStatus("offline", error.message));

  // ---- bus panel -------------------------------------------------------------

  const seen = new Set();
  let paused = false;

  function busRow(entry) {
    const item = el("li", "bus-row kind-" + entry.kind);
    item.dataset.seq = entry.seq;
    item.dataset.kind = entry.kind;
    item.dataset.name = entry.name;
    item.dataset.outcome = entry.outcome || "";
    item.dataset.sid = entry.sid || "";
    item.title = [
      entry.kind + " " + JSON.stringify(entry.name) + " on " + entry.namespace,
      entry.outcome ? "outcome: " + entry.outcome : "",
      entry.reason ? "reason: " + entry.reason : "",
      entry.sid ? "sid: " + entry.sid + "…" : "",
      "at " + clock(entry.at),
    ]
      .filter(Boolean)
      .join("\n");
    const us = entry.duration_us === null ? "–" : entry.duration_us.toLocaleString();
    item.append(
      el("span", "kind", entry.kind),
      el("span", "name", entry.name),
      el("span", "outcome outcome-" + (entry.outcome || "none"), entry.outcome || "–"),
      el("span", "num", us),
      el("span", "sid", entry.sid || "–"),
    );
    return item;
  }

  function addBusEntry(entry, live) {
    if (seen.has(entry.seq)) return;
    seen.add(entry.seq);
    const log = $("bus-log");
    const row = busRow(entry);
    // Newest first: place the row before the first older one.
    let before = null;
    for (const other of log.children) {
      if (Number(other.dataset.seq) < entry.seq) {
        before = other;
        break;
      }
    }
    log.insertBefore(row, before);
    if (live) row.classList.add("fresh");
    while (log.children.length > BUS_ROWS) log.lastElementChild.remove();
    $("bus-count").textContent = seen.size;
  }

  bus.on("bus", (entry) => {
    if (!paused) addBusEntry(entry, true);
  });

  bus.on("connect", async () => {
    const history = await bus.emitWithAck("history");
    for (const entry of history) addBusEntry(entry, false);
  });

  $("bus-pause").addEventListener("click", (event) => {
    paused = !paused;
    event.currentTarget.textContent = paused ? "Resume" : "Pause";
    event.currentTarget.setAttribute("aria-pressed", String(paused));
  });

  $("bus-clear").addEventListener("click", () => {
    $("bus-log").replaceChildren();
  });
})();

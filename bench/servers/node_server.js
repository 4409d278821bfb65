// Reference server: node socket.io 4, with the same handlers as the Python servers.
// Listens on 127.0.0.1 and an ephemeral port, then prints {"port": N, "pid": P} on stdout.
"use strict";

const http = require("http");
const { Server } = require("socket.io");

const httpServer = http.createServer();
const io = new Server(httpServer, { serveClient: false });

io.on("connection", (socket) => {
  socket.join("all");
  socket.on("echo", (data, ack) => {
    if (typeof ack === "function") ack(data);
  });
  socket.on("broadcast", (data) => {
    io.to("all").emit("msg", data);
  });
});

httpServer.listen(0, "127.0.0.1", () => {
  const { port } = httpServer.address();
  process.stdout.write(JSON.stringify({ port, pid: process.pid }) + "\n");
});

process.on("SIGTERM", () => process.exit(0));

// Connect the official Socket.IO client with a W3C traceparent in `auth`, send one
// event with an acknowledgement, print the acknowledgement as JSON and disconnect.
//
// Usage: node npm_client.js URL TRACEPARENT EVENT
'use strict';

const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const { io } = require(path.join(root, 'examples', 'chat', 'node_modules', 'socket.io-client'));

const [url, traceparent, event] = process.argv.slice(2);
const socket = io(url, { transports: ['websocket'], reconnection: false, auth: { traceparent } });
const deadline = setTimeout(() => {
  process.stderr.write('timed out\n');
  process.exit(2);
}, 10000);

socket.on('connect', async () => {
  const ack = await socket.timeout(5000).emitWithAck(event, 'hello');
  process.stdout.write(JSON.stringify(ack) + '\n');
  socket.disconnect();
  clearTimeout(deadline);
});
socket.on('connect_error', (error) => {
  process.stderr.write(`connect_error: ${error.message}\n`);
  process.exit(1);
});

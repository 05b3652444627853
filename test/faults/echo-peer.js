/* global require */
// An echo server in its own process for the 10k-sockets scenario; sends its port to the parent.
const net = require('node:net');

const server = net.createServer((s) => s.on('data', (d) => s.write(d)).on('error', () => {}));
server.maxConnections = 20_000;
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => process.send(server.address().port));

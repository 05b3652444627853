/**
 * The echo peer, run as a child process so that its CPU time is not billed to the client being
 * measured. Prints `PORT <n>` on stdout once listening; exits when its stdin closes (parent gone).
 */
import * as net from 'node:net';

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on('data', (chunk: Buffer) => socket.write(chunk));
  socket.on('error', () => socket.destroy());
});
server.listen(0, '127.0.0.1', () => {
  const addr = server.address() as net.AddressInfo;
  process.stdout.write(`PORT ${addr.port}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();

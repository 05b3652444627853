/** Real loopback peers for tests: an echo server and a scripted request/response server. */
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Peer {
  port: number;
  server: net.Server;
  close(): Promise<void>;
}

/** A TCP (or unix, given a path) server; `onConnection` scripts each accepted socket. */
export async function startServer(onConnection: (s: net.Socket) => void, path?: string): Promise<Peer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onConnection(s);
  });
  await new Promise<void>((resolve) =>
    path ? server.listen(path, resolve) : server.listen(0, '127.0.0.1', resolve),
  );
  return {
    port: path ? 0 : (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Echoes every chunk back. */
export function startEcho(path?: string): Promise<Peer> {
  return startServer((s) => s.pipe(s), path);
}

/** Answers each newline-terminated line with `reply(line)` (after `delayMs`). */
export function startLineServer(reply: (line: string) => string, delayMs = 0, path?: string): Promise<Peer> {
  return startServer((s) => {
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const out = reply(line);
        if (delayMs > 0) setTimeout(() => !s.destroyed && s.write(out), delayMs);
        else s.write(out);
      }
    });
  }, path);
}

export function connect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host, () => resolve(s));
    s.once('error', reject);
  });
}

/** Writes `line` and resolves with the first chunk of the answer. */
export function roundTrip(s: net.Socket, line: string): Promise<Buffer> {
  return new Promise((resolve) => {
    s.once('data', (d: Buffer) => resolve(d));
    s.write(line);
  });
}

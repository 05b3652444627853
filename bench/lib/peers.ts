/**
 * The peers the client talks to, all in other processes: the machine's Redis, and an echo server
 * spawned as a child process. `RawClient` is the plainest possible request loop on one `net.Socket`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import { join } from 'node:path';

export interface Peer {
  name: 'redis' | 'echo';
  host: string;
  port: number;
  /** One request and the byte length of its complete response. */
  request: Buffer;
  responseLength: number;
}

export const REDIS_HOST = process.env.BENCH_REDIS_HOST ?? '127.0.0.1';
export const REDIS_PORT = Number(process.env.BENCH_REDIS_PORT ?? 6379);

export function redisPeer(): Peer {
  return {
    name: 'redis',
    host: REDIS_HOST,
    port: REDIS_PORT,
    // What a Redis client sends: a RESP array, answered by `+PONG\r\n`.
    request: Buffer.from('*1\r\n$4\r\nPING\r\n'),
    responseLength: '+PONG\r\n'.length,
  };
}

export function echoPeer(port: number): Peer {
  // 32 bytes, echoed back; no protocol sockscope recognises (the generic, unframed exchange path).
  const request = Buffer.from('echo 000042 sockscope bench pad\n');
  return { name: 'echo', host: '127.0.0.1', port, request, responseLength: request.length };
}

export interface EchoServer {
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Spawns `bench/echo-server.ts` in its own Node process and waits for its port. */
export async function startEchoServer(): Promise<EchoServer> {
  const script = join(__dirname, '..', 'echo-server.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('echo server did not start within 20 s')), 20_000);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`echo server exited early (${String(code)})`)));
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /PORT (\d+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  child.removeAllListeners('exit');
  return {
    port,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin?.end();
        setTimeout(() => child.kill(), 2000).unref();
      }),
  };
}

/** Sequential request/response on one socket, with as little client-side work as possible. */
export class RawClient {
  private got = 0;
  private want = 0;
  private resolve: (() => void) | undefined = undefined;
  private failure: Error | undefined = undefined;

  private constructor(
    readonly socket: net.Socket,
    readonly peer: Peer,
    /** What each round trip writes: the peer's request, or the same bytes as a string. */
    readonly payload: Buffer | string,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.got += chunk.length;
      if (this.got >= this.want && this.resolve !== undefined) {
        const r = this.resolve;
        this.resolve = undefined;
        r();
      }
    });
    socket.on('error', (e) => {
      this.failure = e;
    });
  }

  /** `asString`: write the request as a latin1 string (as string-writing clients such as ioredis do). */
  static connect(peer: Peer, asString = false): Promise<RawClient> {
    const payload = asString ? peer.request.toString('latin1') : peer.request;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: peer.host, port: peer.port, noDelay: true });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolve(new RawClient(socket, peer, payload));
      });
    });
  }

  /** One round trip: write the request, resolve once the whole response has arrived. */
  roundTrip(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    this.got = 0;
    this.want = this.peer.responseLength;
    return new Promise<void>((resolve) => {
      this.resolve = resolve;
      this.socket.write(this.payload);
    });
  }

  async loop(n: number): Promise<void> {
    for (let i = 0; i < n; i++) await this.roundTrip();
  }

  close(): Promise<void> {
    return closeSocket(this.socket);
  }
}

/** Ends a socket and waits until it is fully closed. */
export function closeSocket(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.once('close', () => resolve());
    socket.end();
  });
}

/** Connect, one round trip, close: one unit of connection churn. */
export function churnOnce(peer: Peer): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: peer.host, port: peer.port, noDelay: true });
    let got = 0;
    socket.once('error', reject);
    socket.once('connect', () => socket.write(peer.request));
    socket.on('data', (chunk: Buffer) => {
      got += chunk.length;
      if (got >= peer.responseLength) socket.end();
    });
    socket.once('close', () => resolve());
  });
}

/**
 * A client socket connected to a loopback server, whose writes complete at once without reaching
 * the kernel: the hot-path benches measure sockscope's hooks, not the network.
 */
export async function socketPair(): Promise<{ client: net.Socket; close(): Promise<void> }> {
  const server = net.createServer((s) => s.on('error', () => undefined));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const client = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((r, j) => client.once('connect', r).once('error', j));
  (client as unknown as { _write: (c: unknown, e: unknown, cb: () => void) => void })._write = (_c, _e, cb) =>
    cb();
  client.on('data', () => undefined);
  return {
    client,
    close: () =>
      new Promise<void>((r) => {
        client.once('close', () => server.close(() => r()));
        client.destroy();
      }),
  };
}

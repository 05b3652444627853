/**
 * A recording TCP proxy for tests: listens on 127.0.0.1 (random port), forwards each connection to
 * a real server and records every chunk in both directions, in the order they passed.
 *
 *   const proxy = await startRecordingProxy({ host: '127.0.0.1', port: 6379 });
 *   // point a client at proxy.port, run it, then:
 *   const [conn] = proxy.connections; // conn.chunks: [{ dir: 'client' | 'server', data }]
 *   await proxy.close();
 *
 * Chunks are copies, so a test may keep them. With `target` omitted, the proxy is a recording
 * listener instead: `answer(conn, data)` (if given) may write a reply for each client chunk.
 */
import * as net from 'node:net';

export interface RecordedChunk {
  dir: 'client' | 'server';
  data: Buffer;
}

export interface RecordedConnection {
  chunks: RecordedChunk[];
  /** Resolves when both sides have closed. */
  closed: Promise<void>;
}

export interface RecordingProxy {
  port: number;
  connections: RecordedConnection[];
  close(): Promise<void>;
}

export interface ProxyOptions {
  /** The real server; omit to act as a listener that only records (and optionally answers). */
  target?: { host: string; port: number };
  /** Listener mode: called once per connection, e.g. to send a greeting through `reply`. */
  greet?: (reply: (out: Buffer | string) => void) => void;
  /** Listener mode: called for every client chunk with a writer that records what it sends. */
  answer?: (data: Buffer, reply: (out: Buffer | string) => void, conn: RecordedConnection) => void;
}

export function startRecordingProxy(opts: ProxyOptions): Promise<RecordingProxy> {
  const connections: RecordedConnection[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    let resolveClosed!: () => void;
    const conn: RecordedConnection = { chunks: [], closed: new Promise((r) => (resolveClosed = r)) };
    connections.push(conn);
    const record = (dir: RecordedChunk['dir'], data: Buffer): void => {
      conn.chunks.push({ dir, data: Buffer.from(data) });
    };
    if (!opts.target) {
      const reply = (out: Buffer | string): void => {
        const b = typeof out === 'string' ? Buffer.from(out, 'latin1') : out;
        record('server', b);
        client.write(b);
      };
      client.on('data', (d) => {
        record('client', d);
        opts.answer?.(d, reply, conn);
      });
      client.on('error', () => {});
      client.on('close', () => resolveClosed());
      opts.greet?.(reply);
      return;
    }
    const upstream = net.connect(opts.target.port, opts.target.host);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    client.on('data', (d) => {
      record('client', d);
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      record('server', d);
      client.write(d);
    });
    let open = 2;
    const done = (): void => {
      if (--open === 0) resolveClosed();
    };
    client.on('close', () => {
      upstream.end();
      done();
    });
    upstream.on('close', () => {
      client.end();
      done();
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        port,
        connections,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

/**
 * The demo's backends: real servers, started in this process from npm packages (or the machine's
 * PostgreSQL when it answers), never imitations, so every byte sockscope sees is what a production
 * client and server exchange.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { load } from './modules';

/** Where the demo's PostgreSQL client connects. */
export interface PostgresTarget {
  kind: 'local' | 'embedded';
  host: string;
  port: number;
  user: string;
  database: string;
  /** One line for the output: which server this is. */
  description: string;
  close(): Promise<void>;
}

export interface Listening {
  host: string;
  port: number;
  close(): Promise<void>;
}

export const LOCAL_POSTGRES = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' } as const;

/** Runs `fn` with tracing suppressed: the demo's own plumbing is not part of the sample service. */
export function untraced<T>(fn: () => Promise<T>): Promise<T> {
  return context.with(suppressTracing(context.active()), fn);
}

interface PgModule {
  Client: new (config: Record<string, unknown>) => {
    connect(): Promise<void>;
    end(): Promise<void>;
    on(event: 'error', listener: (err: Error) => void): unknown;
  };
}

/**
 * Whether the machine's PostgreSQL accepts the demo's login. Probed untraced: a suppressed
 * connect makes sockscope leave that socket alone, so the probe leaves no spans behind.
 */
export async function localPostgresAnswers(timeoutMs = 1500): Promise<boolean> {
  const pg = await load<PgModule>('pg');
  return untraced(async () => {
    const client = new pg.Client({ ...LOCAL_POSTGRES, connectionTimeoutMillis: timeoutMs });
    client.on('error', () => {});
    try {
      await client.connect();
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  });
}

export function localPostgres(): PostgresTarget {
  const { host, port, user, database } = LOCAL_POSTGRES;
  return {
    kind: 'local',
    host,
    port,
    user,
    database,
    description: `the machine's PostgreSQL at ${host}:${port} (database ${database})`,
    close: () => Promise.resolve(),
  };
}

interface PGliteInstance {
  dumpDataDir(compression?: 'none' | 'gzip' | 'auto'): Promise<Blob>;
  close(): Promise<void>;
}
interface PGliteModule {
  PGlite: { create(options?: { loadDataDir?: Blob }): Promise<PGliteInstance> };
}
interface PGliteSocketModule {
  PGLiteSocketServer: new (options: {
    db: PGliteInstance;
    host: string;
    port: number;
    maxConnections: number;
  }) => {
    start(): Promise<void>;
    stop(): Promise<void>;
    getServerConn(): string;
  };
}

/** The installed version of a package whose `exports` hide its package.json. */
function packageVersion(id: string): string {
  let dir = path.dirname(require.resolve(id));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === id) return pkg.version ?? 'unknown';
    }
    const up = path.dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}

/**
 * PGlite runs initdb in WebAssembly on every fresh start, which takes 10-20 s on a small machine.
 * The initialised data directory is cached once (gzip, ~5 MB, keyed by PGlite's version) and later
 * runs load it in ~1-2 s. Each run loads its own in-memory copy, so concurrent demos never share a
 * data directory.
 */
async function openPglite(
  PGlite: PGliteModule['PGlite'],
  version: string,
  log: (line: string) => void,
): Promise<PGliteInstance> {
  const cacheDir = path.join(os.tmpdir(), 'sockscope-demo');
  const cacheFile = path.join(cacheDir, `pglite-${version}-initdb.tar.gz`);
  if (existsSync(cacheFile)) {
    try {
      return await PGlite.create({ loadDataDir: new Blob([readFileSync(cacheFile)]) });
    } catch {
      // A damaged cache (say, a full disk mid-write on another machine's copy): start fresh below.
      rmSync(cacheFile, { force: true });
    }
  }
  log(`  (first run: PGlite initialises its database, 10-20 s; cached in ${cacheFile} for next time)`);
  const db = await PGlite.create();
  try {
    const dump = Buffer.from(await (await db.dumpDataDir('gzip')).arrayBuffer());
    mkdirSync(cacheDir, { recursive: true });
    // Write then rename, so a concurrent run never loads a half-written file.
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(tmp, dump);
    renameSync(tmp, cacheFile);
  } catch {
    // The cache is an optimisation only.
  }
  return db;
}

/** PGlite (PostgreSQL compiled to WebAssembly) served over the PostgreSQL wire protocol on loopback. */
export async function startPglite(log: (line: string) => void): Promise<PostgresTarget> {
  const { PGlite } = await load<PGliteModule>('@electric-sql/pglite');
  const { PGLiteSocketServer } = await load<PGliteSocketModule>('@electric-sql/pglite-socket');
  const version = packageVersion('@electric-sql/pglite');
  const db = await openPglite(PGlite, version, log);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 4 });
  await server.start();
  const conn = server.getServerConn();
  const port = Number(conn.slice(conn.lastIndexOf(':') + 1));
  return {
    kind: 'embedded',
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database: 'postgres',
    description: `embedded PGlite ${version} served over the wire protocol at 127.0.0.1:${port}`,
    close: async () => {
      await server.stop();
      await db.close();
    },
  };
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

interface AedesModule {
  Aedes: {
    createBroker(): Promise<{ handle: (socket: net.Socket) => unknown; close(cb?: () => void): void }>;
  };
}

/** An aedes MQTT broker on a loopback port. */
export async function startMqttBroker(): Promise<Listening> {
  const { Aedes } = await load<AedesModule>('aedes');
  const broker = await Aedes.createBroker();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  const port = await listen(server);
  return {
    host: '127.0.0.1',
    port,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closeServer(server);
    },
  };
}

/**
 * A small JSON API standing in for another team's service. Each route answers after a fixed delay,
 * as a remote service would, so that calls awaited one after another visibly add up.
 */
const API_ROUTES: Array<{ pattern: RegExp; delayMs: number; body: (m: RegExpExecArray) => unknown }> = [
  {
    pattern: /^\/shipping\/quote\?order=(\d+)$/,
    delayMs: 12,
    body: (m) => ({ order: Number(m[1]), carrier: 'parcelco', cents: 499, days: 2 }),
  },
  {
    pattern: /^\/recommendations\?customer=(\d+)$/,
    delayMs: 15,
    body: (m) => ({ customer: Number(m[1]), products: [11, 42, 73] }),
  },
  {
    pattern: /^\/fraud\/score\?order=(\d+)$/,
    delayMs: 10,
    body: (m) => ({ order: Number(m[1]), score: 0.02 }),
  },
];

export async function startHttpApi(): Promise<Listening> {
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    for (const route of API_ROUTES) {
      const m = route.pattern.exec(url);
      if (m === null) continue;
      const timer = setTimeout(() => {
        timers.delete(timer);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(route.body(m)));
      }, route.delayMs);
      timers.add(timer);
      return;
    }
    res.statusCode = 404;
    res.end('{"error":"not found"}');
  });
  const port = await listen(server);
  return {
    host: '127.0.0.1',
    port,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      const done = closeServer(server);
      // Keep-alive sockets would hold close() open; the client side then sees them close too.
      server.closeAllConnections();
      await done;
    },
  };
}

/**
 * Shared by test/e2e/coverage-matrix.test.ts and scripts/coverage-matrix.ts: runs the matrix app
 * (test/e2e/fixtures/matrix-app.ts) in its own process, reads its trace file, and runs
 * `sockscope gaps --json` on it.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { GapRow, GapVerdict, GapsResult } from '../../src/analysis/gaps';
import type { TraceSpan } from '../../src/analysis/model';
import {
  SUGGEST_COVERED,
  SUGGEST_NONE,
  SUGGEST_NONE_HTTP2,
  SUGGEST_NONE_WEBSOCKET,
} from '../../src/analysis/suggestions';
import { readTraceFile } from '../../src/analysis/read';

export const REPO = path.resolve(__dirname, '..', '..');
export const MATRIX_APP = path.join(__dirname, 'fixtures', 'matrix-app.ts');
export const CLI_MAIN = path.join(REPO, 'src', 'cli', 'main.ts');
export const HOST = '127.0.0.1';

export type ClientName =
  | 'pg'
  | 'mysql2'
  | 'ioredis'
  | 'amqplib'
  | 'http'
  | 'fetch'
  | 'mqtt'
  | 'nats'
  | 'ws'
  | 'http2'
  | 'postgres'
  | 'mariadb'
  | 'redis'
  | 'memjs'
  | 'nodemailer';

/** The servers the matrix app runs itself, on loopback ports it picks (see its `ports`). */
export type LocalServer = 'http' | 'h2' | 'ws' | 'smtp';

/** What an exchange is for (`sockscope.phase`). */
export type Phase = 'setup' | 'operation' | 'teardown' | 'heartbeat';
export const PHASES: readonly Phase[] = ['setup', 'operation', 'teardown', 'heartbeat'];

/** A row's verdict, on its operations (`GapRow.verdict`). */
export type Verdict = GapVerdict;

/** One gap row a client is expected to produce, with every official instrumentation on. */
export interface ExpectedRow {
  /** The row's protocol column. */
  protocol: string;
  /** Covering instrumentations (the row's `coveredBy`). */
  coveredBy: readonly string[];
  /** Its exchanges by `sockscope.phase`, and how many of them are uncovered (phases not listed: none). */
  phases: Readonly<Partial<Record<Phase, readonly [exchanges: number, uncovered: number]>>>;
  /** Covered / partly / uncovered, judged on its operations. */
  verdict: Verdict;
  /** The row's suggestion, exactly or by pattern. */
  suggestion: string | RegExp;
}

export interface ClientInfo {
  name: ClientName;
  /** What the app calls, for the matrix. */
  label: string;
  /** `sockscope.caller.package` of its connections (default: its name). */
  caller?: string;
  /** The service it talks to (for `requireService`); otherwise one of the app's own servers. */
  service?: { name: string; port: number };
  /** The app's own server it talks to (default `http`), when it has no `service`. */
  local?: LocalServer;
  /** The official instrumentation that describes its calls, if any. */
  official?: string;
  /**
   * Exchange operations the official instrumentation makes no span for, measured with the
   * versions in node_modules (see "Coverage matrix" in docs/gap-analysis.md). Given for the first
   * eight clients, whose run-time verdicts are checked operation by operation.
   */
  unspanned?: readonly string[];
  /** The gap rows it must produce, in full (protocol, coverage, phases, verdict, suggestion). */
  rows: readonly ExpectedRow[];
}

const NONE = SUGGEST_NONE;
const HTTP = '@opentelemetry/instrumentation-http';
const PG = '@opentelemetry/instrumentation-pg';
const MYSQL2 = '@opentelemetry/instrumentation-mysql2';
const IOREDIS = '@opentelemetry/instrumentation-ioredis';
const AMQPLIB = '@opentelemetry/instrumentation-amqplib';
const UNDICI = '@opentelemetry/instrumentation-undici';

export const CLIENTS: readonly ClientInfo[] = [
  {
    name: 'pg',
    label: '`pg` (Client and Pool)',
    service: { name: 'PostgreSQL', port: 5432 },
    official: PG,
    unspanned: [],
    rows: [
      {
        protocol: 'postgresql',
        coveredBy: [PG],
        phases: { setup: [2, 0], operation: [5, 0] },
        verdict: 'covered',
        suggestion: SUGGEST_COVERED,
      },
    ],
  },
  {
    name: 'mysql2',
    label: '`mysql2/promise` (connection and pool)',
    service: { name: 'MariaDB', port: 3306 },
    official: MYSQL2,
    // instrumentation-mysql2 wraps query/execute only: the login handshake has no span.
    unspanned: ['CONNECT'],
    rows: [
      {
        protocol: 'mysql',
        coveredBy: [MYSQL2],
        phases: { setup: [2, 2], operation: [4, 0] },
        // Its operations are all covered: the uncovered logins are setup, normal without a span.
        verdict: 'covered',
        suggestion: 'covered; 2 setup exchanges have no span (normal)',
      },
    ],
  },
  {
    name: 'ioredis',
    label: '`ioredis`',
    service: { name: 'Redis', port: 6379 },
    official: IOREDIS,
    unspanned: [],
    rows: [
      {
        protocol: 'redis',
        coveredBy: [IOREDIS],
        phases: { setup: [2, 0], operation: [4, 0] },
        verdict: 'covered',
        suggestion: SUGGEST_COVERED,
      },
    ],
  },
  {
    name: 'amqplib',
    label: '`amqplib` (channel and confirm channel)',
    service: { name: 'RabbitMQ', port: 5672 },
    official: AMQPLIB,
    // instrumentation-amqplib makes PRODUCER spans for publish and CONSUMER spans for consume
    // callbacks; the connection handshake and every channel RPC have none. basic.publish is
    // covered only on a confirm channel (checked on its own in the test).
    unspanned: [
      'connect',
      'connection.start-ok',
      'connection.tune-ok',
      'connection.open',
      'channel.open',
      'confirm.select',
      'queue.declare',
      'basic.get',
      'channel.close',
    ],
    rows: [
      {
        protocol: 'amqp',
        coveredBy: [AMQPLIB],
        phases: { setup: [7, 7], operation: [5, 4], teardown: [1, 1] },
        verdict: 'partly-covered',
        suggestion: `partly covered by \`${AMQPLIB}\`: 4 of 5 operations (\`basic.get\`, \`basic.publish\`, \`queue.declare\`) have no span`,
      },
    ],
  },
  {
    name: 'http',
    label: '`node:http` (`http.get`, keep-alive agent)',
    caller: '(app)',
    official: HTTP,
    unspanned: [],
    rows: [
      {
        protocol: 'http',
        coveredBy: [HTTP],
        phases: { operation: [2, 0] },
        verdict: 'covered',
        suggestion: SUGGEST_COVERED,
      },
    ],
  },
  {
    name: 'fetch',
    label: `\`fetch\` (Node ${process.versions.node.split('.')[0]} built-in undici)`,
    caller: 'undici',
    official: UNDICI,
    unspanned: [],
    rows: [
      {
        protocol: 'http',
        coveredBy: [UNDICI],
        phases: { operation: [2, 0] },
        verdict: 'covered',
        suggestion: SUGGEST_COVERED,
      },
    ],
  },
  {
    name: 'mqtt',
    label: '`mqtt`',
    service: { name: 'Mosquitto', port: 1883 },
    unspanned: [],
    rows: [
      {
        protocol: 'mqtt',
        coveredBy: [],
        phases: { setup: [1, 1], operation: [3, 3] },
        verdict: 'uncovered',
        suggestion: NONE,
      },
    ],
  },
  {
    name: 'nats',
    label: '`nats`',
    service: { name: 'NATS', port: 4222 },
    unspanned: [],
    rows: [
      {
        protocol: 'nats',
        coveredBy: [],
        phases: { setup: [1, 1], operation: [3, 3] },
        verdict: 'uncovered',
        suggestion: NONE,
      },
    ],
  },
  {
    name: 'ws',
    label: '`ws` (text, binary, ping)',
    local: 'ws',
    rows: [
      // The upgrade request goes through core http: instrumentation-http covers it.
      {
        protocol: 'http',
        coveredBy: [HTTP],
        phases: { operation: [1, 0] },
        verdict: 'covered',
        suggestion: SUGGEST_COVERED,
      },
      {
        protocol: 'websocket',
        coveredBy: [],
        phases: { operation: [3, 3], heartbeat: [1, 1] },
        verdict: 'uncovered',
        suggestion: SUGGEST_NONE_WEBSOCKET,
      },
    ],
  },
  {
    name: 'http2',
    label: '`node:http2` (one session, three streams)',
    caller: '(app)',
    local: 'h2',
    rows: [
      {
        protocol: 'http2',
        coveredBy: [],
        phases: { operation: [3, 3] },
        verdict: 'uncovered',
        suggestion: SUGGEST_NONE_HTTP2,
      },
    ],
  },
  {
    name: 'postgres',
    label: '`postgres` (postgres.js; one query, then one parameterised query 8 times)',
    service: { name: 'PostgreSQL', port: 5432 },
    rows: [
      // postgres.js fetches the server's array types after connecting: 1 + 1 + 8 SELECTs.
      {
        protocol: 'postgresql',
        coveredBy: [],
        phases: { setup: [1, 1], operation: [10, 10] },
        verdict: 'uncovered',
        suggestion: NONE,
      },
    ],
  },
  {
    name: 'mariadb',
    label: '`mariadb` (query, execute twice)',
    service: { name: 'MariaDB', port: 3306 },
    rows: [
      // The first execute pipelines COM_STMT_PREPARE and COM_STMT_EXECUTE: one exchange.
      {
        protocol: 'mysql',
        coveredBy: [],
        phases: { setup: [1, 1], operation: [3, 3] },
        verdict: 'uncovered',
        suggestion: NONE,
      },
    ],
  },
  {
    name: 'redis',
    label: '`redis` (node-redis)',
    caller: '@redis/client',
    service: { name: 'Redis', port: 6379 },
    official: '@opentelemetry/instrumentation-redis',
    rows: [
      // HELLO is sent inside instrumentation-redis's redis-connect span.
      {
        protocol: 'redis',
        coveredBy: ['@opentelemetry/instrumentation-redis'],
        phases: { setup: [1, 0], operation: [3, 0] },
        verdict: 'covered',
        suggestion: SUGGEST_COVERED,
      },
    ],
  },
  {
    name: 'memjs',
    label: '`memjs` (binary protocol)',
    service: { name: 'Memcached', port: 11211 },
    rows: [
      {
        protocol: 'memcached',
        coveredBy: [],
        phases: { operation: [3, 3] },
        verdict: 'uncovered',
        suggestion: NONE,
      },
    ],
  },
  {
    name: 'nodemailer',
    label: '`nodemailer` (one message, no pool)',
    local: 'smtp',
    rows: [
      // smtp-server offers PIPELINING: MAIL, RCPT and DATA go out together, the message after 354.
      {
        protocol: 'smtp',
        coveredBy: [],
        phases: { setup: [1, 1], operation: [1, 1] },
        verdict: 'uncovered',
        suggestion: NONE,
      },
    ],
  },
];

export const clientInfo = (name: ClientName): ClientInfo => CLIENTS.find((c) => c.name === name)!;

export interface MatrixOptions {
  /** Official instrumentations to disable (`MATRIX_DISABLE`). */
  disable?: string[];
  /** Leave `@opentelemetry/instrumentation-net` on. */
  net?: boolean;
  /** Close the clients inside the traced parent span too. */
  teardownInside?: boolean;
  /** Only these clients (default all). */
  clients?: ClientName[];
}

export interface MatrixRun {
  file: string;
  /** The app's summary line. */
  summary: {
    ok: boolean;
    httpPort: number;
    traceId: string;
    clients: ClientName[];
    /** The ports of the app's own servers. */
    ports: Record<LocalServer, number>;
  };
  spans: TraceSpan[];
  /** What `sockscope gaps --json` printed for the file. */
  gaps: GapsResult;
}

/** Environment for a child: the parent's, minus anything that would change its OpenTelemetry setup. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(OTEL_|SOCKSCOPE_|MATRIX_)/.test(k) && k !== 'NODE_OPTIONS') env[k] = v;
  }
  return { ...env, ...extra };
}

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runNode(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `sockscope gaps --json FILE`, through the CLI in a child process. */
export async function gapsJson(file: string): Promise<GapsResult> {
  const r = await runNode(['--import', 'tsx', CLI_MAIN, 'gaps', '--json', file], childEnv({}), 60_000);
  if (r.code !== 0) {
    throw new Error(`sockscope gaps --json exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return JSON.parse(r.stdout) as GapsResult;
}

/** Runs the matrix app in its own process, then `sockscope gaps --json` on what it wrote. */
export async function runMatrix(options: MatrixOptions = {}): Promise<MatrixRun> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockscope-matrix-'));
  const file = path.join(dir, 'traces.jsonl');
  const env = childEnv({
    MATRIX_OUT: file,
    MATRIX_DISABLE: (options.disable ?? []).join(','),
    MATRIX_NET: options.net === true ? '1' : '0',
    MATRIX_TEARDOWN: options.teardownInside === true ? 'inside' : 'outside',
    MATRIX_CLIENTS: (options.clients ?? []).join(','),
  });
  const r = await runNode(['--import', 'tsx', MATRIX_APP], env, 120_000);
  if (r.code !== 0) throw new Error(`matrix app exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
  const line = r.stdout
    .trim()
    .split('\n')
    .find((l) => l.startsWith('{"ok"'));
  if (line === undefined) throw new Error(`matrix app printed no summary:\n${r.stdout}\n${r.stderr}`);
  const summary = JSON.parse(line) as MatrixRun['summary'];
  const spans = await readTraceFile(file);
  return { file, summary, spans, gaps: await gapsJson(file) };
}

/** Removes a run's temporary folder. */
export function cleanup(run: MatrixRun): void {
  fs.rmSync(path.dirname(run.file), { recursive: true, force: true });
}

/** The port a client talks to in a run. */
export function portOf(run: MatrixRun, client: ClientName): number {
  const info = clientInfo(client);
  return info.service?.port ?? run.summary.ports[info.local ?? 'http'];
}

/** `sockscope.caller.package` of a client's connections. */
export const callerOf = (client: ClientName): string => clientInfo(client).caller ?? client;

/**
 * Whether a caller package / server belongs to a client: its port, and its caller package (pg and
 * postgres.js share PostgreSQL, mysql2 and mariadb MariaDB, ioredis and node-redis Redis).
 */
function belongs(run: MatrixRun, client: ClientName, callerPackage: unknown, port: number): boolean {
  if (port !== portOf(run, client)) return false;
  // The app's node:http calls may be reported as (app) or through instrumentation-http's wrapper.
  if (client === 'http') return callerPackage !== 'undici';
  return callerPackage === callerOf(client);
}

const portOfServer = (server: string): number => Number(server.slice(server.lastIndexOf(':') + 1));

/** The gap rows of one client (normally exactly one). */
export function rowsOf(run: MatrixRun, client: ClientName): GapRow[] {
  return run.gaps.rows.filter((r) => belongs(run, client, r.callerPackage, portOfServer(r.server)));
}

export const isExchange = (s: TraceSpan): boolean =>
  s.scope === 'sockscope' && s.attributes['sockscope.kind'] === 'exchange';
export const isConnection = (s: TraceSpan): boolean =>
  s.scope === 'sockscope' && s.attributes['sockscope.kind'] === 'connection';

/** sockscope spans (of a kind) that belong to a client. */
export function spansOf(run: MatrixRun, client: ClientName, kind: 'exchange' | 'connection'): TraceSpan[] {
  return run.spans.filter(
    (s) =>
      (kind === 'exchange' ? isExchange(s) : isConnection(s)) &&
      belongs(run, client, s.attributes['sockscope.caller.package'], Number(s.attributes['server.port'])),
  );
}

/** The recognised operation of an exchange span, else its name. */
export const opOf = (s: TraceSpan): string => String(s.attributes['sockscope.operation'] ?? s.name);

/** Exchange operation names with counts, in first-seen order: `SELECT ×5, STARTUP ×2`. */
export function opCounts(spans: readonly TraceSpan[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of [...spans].sort((a, b) => a.startMs - b.startMs)) m.set(opOf(s), (m.get(opOf(s)) ?? 0) + 1);
  return m;
}

/** Installed version of a package, from node_modules. */
export function installedVersion(pkg: string): string | undefined {
  try {
    const p = path.join(REPO, 'node_modules', ...pkg.split('/'), 'package.json');
    return (JSON.parse(fs.readFileSync(p, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

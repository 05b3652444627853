/**
 * `npm run coverage-matrix`: runs the coverage-matrix app (test/e2e/fixtures/matrix-app.ts) with
 * every official instrumentation on, reads `sockscope gaps --json` on the trace file it wrote and
 * the exchange spans themselves, and writes docs/coverage.md. Needs PostgreSQL, MariaDB, Redis,
 * RabbitMQ, Mosquitto, NATS and memcached on 127.0.0.1 (their default ports); the app runs its own
 * HTTP, HTTP/2, WebSocket and SMTP servers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gapGroupOf, type GapRow } from '../src/analysis/gaps';
import type { TraceSpan } from '../src/analysis/model';
import { officialInstrumentationFor } from '../src/analysis/suggestions';
import { portOpen } from '../test/helpers/services';
import {
  CLIENTS,
  HOST,
  PHASES,
  REPO,
  cleanup,
  installedVersion,
  opOf,
  rowsOf,
  runMatrix,
  spansOf,
  type MatrixRun,
} from '../test/e2e/matrix';

const OUT = path.join(REPO, 'docs', 'coverage.md');

const code = (s: string): string => `\`${s}\``;

/** `SELECT ×5, STARTUP ×2`, in first-seen order. */
function opList(spans: readonly TraceSpan[]): string {
  const m = new Map<string, number>();
  for (const s of [...spans].sort((a, b) => a.startMs - b.startMs)) m.set(opOf(s), (m.get(opOf(s)) ?? 0) + 1);
  if (m.size === 0) return '–';
  return [...m].map(([op, n]) => (n > 1 ? `${code(op)} ×${n}` : code(op))).join(', ');
}

const isCovered = (s: TraceSpan): boolean => s.attributes['sockscope.covered'] === true;

function versioned(pkg: string | undefined): string {
  if (pkg === undefined) return 'none';
  const v = installedVersion(pkg);
  return v === undefined ? `${code(pkg)} (not installed)` : `${code(pkg)} ${v}`;
}

/** `setup 2 (2 uncovered), operation 5`: a row's exchanges by phase. */
function phaseList(row: GapRow): string {
  const parts: string[] = [];
  for (const p of PHASES) {
    const c = row.phases[p];
    if (c.exchanges > 0)
      parts.push(`${p} ${c.exchanges}${c.uncovered > 0 ? ` (${c.uncovered} uncovered)` : ''}`);
  }
  return parts.length === 0 ? '–' : parts.join(', ');
}

/** The row's verdict (on its operations), in words. */
function verdict(row: GapRow): string {
  const ops = `${row.operationsUncovered} of ${row.operations} operation${row.operations === 1 ? '' : 's'}`;
  const chatter = row.uncovered - row.operationsUncovered;
  if (row.verdict === 'covered') {
    if (chatter === 0) return '**covered**';
    const kinds = PHASES.filter((p) => p !== 'operation' && row.phases[p].uncovered > 0).join('/');
    return `**covered** (${chatter} ${kinds} exchange${chatter === 1 ? '' : 's'} without a span: normal)`;
  }
  if (row.verdict === 'uncovered') return `**not covered**: ${ops} uncovered`;
  return `**partly covered**: ${ops} uncovered`;
}

/** Client packages whose versions the matrix states. */
const CLIENT_PACKAGES = [
  'pg',
  'mysql2',
  'ioredis',
  'amqplib',
  'mqtt',
  'nats',
  'ws',
  'postgres',
  'mariadb',
  'redis',
  'memjs',
  'nodemailer',
  'smtp-server',
];

function render(run: MatrixRun, date: string): string {
  const lines: string[] = [];
  const sockscope = (
    JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }
  ).version;
  lines.push(
    `## OpenTelemetry JS ${lineOf()} line, Node ${process.versions.node}`,
    '',
    `> Generated on ${date}.`,
    '',
    `The app (test/e2e/fixtures/matrix-app.ts) ran in its own process on Node ${process.versions.node} with`,
    `sockscope ${sockscope}, ${versioned('@opentelemetry/sdk-node')} and`,
    `${versioned('@opentelemetry/auto-instrumentations-node')} (\`getNodeAutoInstrumentations()\`, every`,
    'official instrumentation on except `-fs`, `-dns` and `-net`), plus `SocketInstrumentation` with',
    '`requireParentSpan: true` and `SocketCoverageProcessor`. Inside one traced parent span (a child span',
    'per client) it made real calls against local servers (PostgreSQL, MariaDB, Redis, RabbitMQ,',
    'Mosquitto, NATS, memcached, and its own HTTP/1.1, HTTP/2, WebSocket and SMTP servers); clients',
    'were closed outside the traced span.',
    '',
    '- One line per gap row: a client has one row per protocol it spoke (`ws`: its HTTP upgrade, then',
    '  WebSocket).',
    '- **Exchanges seen**: the exchange spans sockscope emitted for that row, by operation, and by',
    '  phase (`sockscope.phase`: setup, operation, teardown, heartbeat) from the gaps row.',
    "- **Verdict**: the gaps row's, judged on operations: setup, teardown and heartbeat exchanges without",
    '  a span are connection chatter, normal even when the instrumentation works.',
    '- **Uncovered at run time**: those `SocketCoverageProcessor` found no upstream span for',
    '  (`sockscope.covered: false`).',
    '- **gaps row**: what `sockscope gaps --json` says for the same file (exchanges / covered / uncovered).',
    '',
    '| client | protocol | official instrumentation | covered by | exchanges seen | by phase | uncovered at run time | gaps row | verdict |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  const notes: string[] = [];
  for (const client of CLIENTS) {
    const exchanges = spansOf(run, client.name, 'exchange');
    const rows = rowsOf(run, client.name);
    if (rows.length === 0) {
      lines.push(
        `| ${client.label} | – | ${versioned(client.official)} | – | – | – | – | – | no exchanges seen |`,
      );
      continue;
    }
    for (const row of rows) {
      const mine = exchanges.filter((s) => {
        const g = gapGroupOf(s);
        return (
          g.callerPackage === row.callerPackage && g.protocol === row.protocol && g.server === row.server
        );
      });
      const uncovered = mine.filter((s) => !isCovered(s));
      const official = officialInstrumentationFor(row.callerPackage, row.protocol);
      const coveredBy = row.coveredBy.length === 0 ? '–' : row.coveredBy.map(code).join(', ');
      let gapsCell = `${row.exchanges} / ${row.covered} / ${row.uncovered}`;
      if (row.uncovered !== uncovered.length) {
        gapsCell += ' ¹';
        notes.push(
          `${client.name} ${row.protocol}: gaps counted ${row.uncovered} uncovered, the run-time processor ${uncovered.length}.`,
        );
      }
      lines.push(
        `| ${client.label} | ${row.protocol} | ${versioned(official)} | ${coveredBy} | ${opList(mine)} | ${phaseList(row)} | ${uncovered.length === 0 ? 'none' : opList(uncovered)} | ${gapsCell} | ${verdict(row)} |`,
      );
    }
  }
  lines.push('');
  lines.push('Rows as `sockscope gaps` groups them (caller package × protocol × server):', '');
  lines.push(
    '| caller package | protocol | server | exchanges | covered | uncovered | operations (covered / uncovered) | verdict | suggestion |',
  );
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const own = new Map(Object.entries(run.summary.ports).map(([k, port]) => [`${HOST}:${port}`, k]));
  const NAMES: Record<string, string> = { http: 'HTTP', h2: 'HTTP/2', ws: 'WebSocket', smtp: 'SMTP' };
  for (const r of run.gaps.rows) {
    const kind = own.get(r.server);
    const server = kind === undefined ? r.server : `${HOST}:(app's ${NAMES[kind] ?? kind} server)`;
    lines.push(
      `| ${code(r.callerPackage)} | ${r.protocol} | ${server} | ${r.exchanges} | ${r.covered} | ${r.uncovered} | ${r.operations} (${r.operationsCovered} / ${r.operationsUncovered}) | ${r.verdict} | ${r.suggestion} |`,
    );
  }
  const t = run.gaps.totals;
  lines.push(
    `| **total** | | | ${t.exchanges} | ${t.covered} | ${t.uncovered} | ${t.operations} (${t.operationsCovered} / ${t.operationsUncovered}) | | |`,
    '',
  );
  if (notes.length > 0) {
    lines.push(
      '¹ gaps and the run-time processor disagree in this run. Known cause: SDK span times are anchored',
      'on `Date.now()` in whole milliseconds while exchange times are sub-millisecond, so a short upstream',
      'span can look ended before its exchange began (a false gap) or one started just after an exchange',
      'ended can look overlapping (a false cover); see gap-analysis.md.',
      '',
      ...notes.map((n) => `- ${n}`),
      '',
    );
  }
  lines.push(
    'Client versions: ' +
      CLIENT_PACKAGES.map((p) => `${code(p)} ${installedVersion(p) ?? '?'}`).join(', ') +
      `; \`fetch\` is Node ${process.versions.node}'s bundled undici ${process.versions.undici ?? ''}.`.replace(
        / \.$/,
        '.',
      ),
    '',
  );
  return lines.join('\n');
}

const HEADER = [
  '# Coverage matrix: official OpenTelemetry instrumentations against sockscope',
  '',
  '> Generated by `npm run coverage-matrix` (scripts/coverage-matrix.ts), once per OpenTelemetry line',
  '> (run it under each line: `node scripts/otel-line.mjs 3.x` on Node 24, then `2.x` on Node 20).',
  '> Each run replaces its own section. Do not edit by hand. How to read it, and what each finding',
  '> means: the "Coverage matrix" section of [gap-analysis.md](gap-analysis.md).',
  '',
].join('\n');

/** The OpenTelemetry JS line installed here, from sdk-node's version (0.2xx: 2.x, 0.30x: 3.x). */
function lineOf(): string {
  return (installedVersion('@opentelemetry/sdk-node') ?? '').startsWith('0.3') ? '3.x' : '2.x';
}

/** docs/coverage.md with this line's section replaced (or added), newest line first. */
function merged(section: string): string {
  const sections = new Map<string, string>();
  if (fs.existsSync(OUT)) {
    const text = fs.readFileSync(OUT, 'utf8');
    for (const m of text.matchAll(/<!-- line (\S+) -->\n([\s\S]*?)<!-- \/line \1 -->/g))
      sections.set(m[1]!, m[2]!);
  }
  sections.set(lineOf(), section);
  const order = [...sections.keys()].sort().reverse();
  return `${HEADER}\n${order.map((l) => `<!-- line ${l} -->\n${sections.get(l)}<!-- /line ${l} -->\n`).join('\n')}`;
}

async function main(): Promise<void> {
  for (const c of CLIENTS) {
    if (c.service !== undefined && !(await portOpen(HOST, c.service.port))) {
      console.error(
        `coverage-matrix: ${c.service.name} is not reachable at ${HOST}:${c.service.port}; start it first`,
      );
      process.exit(1);
    }
  }
  const run = await runMatrix();
  try {
    const date = new Date().toISOString().slice(0, 10);
    fs.writeFileSync(OUT, merged(`${render(run, date)}\n`));
    console.log(`wrote ${path.relative(process.cwd(), OUT)} (${run.gaps.totals.exchanges} exchanges)`);
  } finally {
    cleanup(run);
  }
}

main().catch((err: unknown) => {
  console.error(`coverage-matrix: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

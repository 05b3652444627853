/**
 * `sockscope demo` end to end: the CLI runs as a child process in a fresh working folder, as a user
 * would run it, against its real embedded backends (and the machine's PostgreSQL when it answers).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { readTraceFile } from '../../src/analysis/read';
import { portOpen } from '../helpers/services';

const ROOT = path.resolve(__dirname, '../..');
const MAIN = path.join(ROOT, 'src/cli/main.ts');
// By URL: `--import tsx` would be resolved from the child's working folder, a temp folder.
const TSX = pathToFileURL(require.resolve('tsx')).href;
// First runs initialise PGlite (10-20 s, then cached); a loaded CI machine can be slower.
const TIMEOUT_MS = 180_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  cwd: string;
}

function runDemo(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'sockscope-demo-test-'));
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...env };
  if (!('OTEL_EXPORTER_OTLP_ENDPOINT' in env)) delete childEnv.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete childEnv.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, MAIN, 'demo', ...args], {
      cwd,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS - 5000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, cwd });
    });
  });
}

interface GapLine {
  caller: string;
  protocol: string;
  server: string;
  exchanges: number;
  covered: number;
  uncovered: number;
  operations: number;
  operationsCovered: number;
}

/** `covered/total` of the OPS and CHATTER columns (`-` when none). */
function fraction(cell: string): [number, number] {
  if (cell === '-') return [0, 0];
  const [c, t] = cell.split('/').map(Number);
  return [c, t];
}

/** The rows of the printed gap table (caller, protocol, server, then OPS and CHATTER as covered/total). */
function gapRows(stdout: string): GapLine[] {
  const start = stdout.indexOf('$ sockscope gaps ');
  const top = stdout.indexOf('$ sockscope top ');
  const end = top >= 0 ? top : stdout.indexOf('$ sockscope report ');
  assert.ok(start >= 0 && end > start, 'the output has the gaps section, then the report section');
  const rows: GapLine[] = [];
  for (const line of stdout.slice(start, end).split('\n')) {
    const m = /^(\S+)\s+(\S+)\s+(\S+:\d+)\s+(\d+\/\d+|-)\s+(\d+\/\d+|-)\s/.exec(line);
    if (m === null) continue;
    const [opsCovered, ops] = fraction(m[4]);
    const [chatterCovered, chatter] = fraction(m[5]);
    rows.push({
      caller: m[1],
      protocol: m[2],
      server: m[3],
      exchanges: ops + chatter,
      covered: opsCovered + chatterCovered,
      uncovered: ops - opsCovered + chatter - chatterCovered,
      operations: ops,
      operationsCovered: opsCovered,
    });
  }
  return rows;
}

/** Finding types named in the printed report's findings tables. */
function reportFindings(stdout: string): Set<string> {
  const report = stdout.slice(stdout.indexOf('$ sockscope report '));
  const types = new Set<string>();
  for (const m of report.matchAll(/^\s+(duplicate|serial|n\+1)\s+\S/gm)) types.add(m[1]);
  return types;
}

function explain(run: Run): string {
  return `exit ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
}

async function assertDemoOutput(run: Run): Promise<void> {
  assert.equal(run.code, 0, explain(run));
  // A top snapshot of the run, from the demo's own metrics endpoint: the PostgreSQL row has a rate.
  const top = run.stdout.slice(run.stdout.indexOf('$ sockscope top --metrics http://127.0.0.1:'));
  assert.match(top, /^\$ sockscope top --metrics/, explain(run));
  assert.match(
    top,
    /^\S+:\d+\s+postgresql\s+\d+(\.\d+)?\s/m,
    'a postgresql row with its exchanges per second',
  );
  const rows = gapRows(run.stdout);
  const mqtt = rows.find((r) => r.caller === 'mqtt');
  assert.ok(mqtt, `a gap row for the mqtt client\n${explain(run)}`);
  assert.ok(mqtt.uncovered > 0 && mqtt.covered === 0, `mqtt is a gap: ${JSON.stringify(mqtt)}`);
  assert.ok(
    mqtt.operations > 0 && mqtt.operationsCovered === 0,
    `its operations too: ${JSON.stringify(mqtt)}`,
  );
  const pg = rows.find((r) => r.protocol === 'postgresql');
  assert.ok(pg, `a postgresql gap row\n${explain(run)}`);
  assert.ok(pg.covered > 0 && pg.uncovered === 0, `postgresql is covered: ${JSON.stringify(pg)}`);
  const http = rows.find((r) => r.protocol === 'http');
  assert.ok(http && http.covered > 0, `fetch calls are covered by instrumentation-undici\n${explain(run)}`);

  const findings = reportFindings(run.stdout);
  for (const type of ['duplicate', 'serial', 'n+1']) {
    assert.ok(findings.has(type), `the report has a ${type} finding\n${explain(run)}`);
  }

  const traces = path.join(run.cwd, 'sockscope-traces.jsonl');
  assert.ok(existsSync(traces), 'sockscope-traces.jsonl written in the working folder');
  const html = path.join(run.cwd, 'sockscope-report.html');
  assert.ok(existsSync(html), 'sockscope-report.html written');
  assert.match(readFileSync(html, 'utf8'), /renderOrderPage/);
  const spans = await readTraceFile(traces);
  assert.ok(spans.some((s) => s.scope === 'sockscope' && s.attributes['sockscope.kind'] === 'exchange'));
  assert.ok(spans.some((s) => s.scope === '@opentelemetry/instrumentation-pg'));
  assert.ok(spans.some((s) => s.attributes['sockscope.function'] === 'renderOrderPage'));
  // Closing every client ended every connection span: none is missing its end.
  assert.ok(spans.filter((s) => s.attributes['sockscope.kind'] === 'connection').every((s) => s.endMs > 0));

  assert.match(run.stdout, /npx sockscope gaps sockscope-traces\.jsonl --json/);
  assert.match(run.stdout, /docker compose -f docker-compose\.jaeger\.yml up -d/);
  rmSync(run.cwd, { recursive: true, force: true });
}

test(
  'demo --embedded: PGlite, aedes and an HTTP API; gap table, findings, JSONL and HTML',
  { timeout: TIMEOUT_MS },
  async (t) => {
    const run = await runDemo(['--embedded']);
    assert.match(run.stdout, /PostgreSQL\s+embedded PGlite/, explain(run));
    const rows = gapRows(run.stdout);
    await assertDemoOutput(run);
    await t.test('the mqtt.js exchanges are named mqtt', () =>
      assert.equal(rows.find((r) => r.caller === 'mqtt')?.protocol, 'mqtt'),
    );
  },
);

test(
  'demo without --embedded uses the machine PostgreSQL when it answers, and says which',
  { timeout: TIMEOUT_MS },
  async () => {
    const local = await portOpen('127.0.0.1', 5432);
    const run = await runDemo([]);
    // portOpen only sees a listener; the demo also needs the login to work, so either is accepted then.
    if (!local) assert.match(run.stdout, /PostgreSQL\s+embedded PGlite/, explain(run));
    assert.match(run.stdout, /PostgreSQL\s+(the machine's PostgreSQL at 127\.0\.0\.1:5432|embedded PGlite)/);
    await assertDemoOutput(run);
  },
);

test(
  'demo with OTEL_EXPORTER_OTLP_ENDPOINT also sends the spans there',
  { timeout: TIMEOUT_MS },
  async () => {
    const bodies: unknown[] = [];
    const paths: string[] = [];
    const receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        paths.push(req.url ?? '');
        try {
          bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          bodies.push(undefined);
        }
        res.setHeader('content-type', 'application/json');
        res.end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.address() as AddressInfo;
    try {
      const run = await runDemo([], { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` });
      assert.equal(run.code, 0, explain(run));
      assert.match(
        run.stdout,
        new RegExp(`OTLP: sent \\d+ spans to http://127\\.0\\.0\\.1:${port}/v1/traces`),
      );
      assert.ok(
        paths.length > 0 && paths.every((p) => p === '/v1/traces'),
        `OTLP requests: ${paths.join(', ')}`,
      );
      // OTLP/JSON (the exporter's default encoding): collect span names and scopes.
      const names = new Set<string>();
      const scopes = new Set<string>();
      for (const body of bodies as Array<{ resourceSpans?: any[] } | undefined>) {
        for (const rs of body?.resourceSpans ?? []) {
          for (const ss of rs.scopeSpans ?? []) {
            scopes.add(ss.scope?.name);
            for (const s of ss.spans ?? []) names.add(s.name);
          }
        }
      }
      assert.ok(names.has('renderOrderPage') && names.has('checkout'), [...names].join(', '));
      assert.ok(
        scopes.has('sockscope') && scopes.has('@opentelemetry/instrumentation-pg'),
        [...scopes].join(', '),
      );
      assert.ok(
        [...names].some((n) => n.startsWith('postgresql ')),
        'sockscope exchange spans arrived',
      );
      // The same spans went to the file.
      const fileSpans = await readTraceFile(path.join(run.cwd, 'sockscope-traces.jsonl'));
      assert.ok(fileSpans.some((s) => s.name === 'renderOrderPage'));
      rmSync(run.cwd, { recursive: true, force: true });
    } finally {
      receiver.closeAllConnections();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  },
);

test('demo: an unknown option is one line on stderr and exit 2', { timeout: 30_000 }, async () => {
  const run = await runDemo(['--bogus']);
  assert.equal(run.code, 2, explain(run));
  assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  assert.match(run.stderr, /sockscope demo: .*bogus/);
  assert.equal(run.stdout, '');
  rmSync(run.cwd, { recursive: true, force: true });
});

test('demo --help describes the backends and --embedded', { timeout: 30_000 }, async () => {
  const run = await runDemo(['--help']);
  assert.equal(run.code, 0, explain(run));
  assert.match(run.stdout, /--embedded/);
  assert.ok(!existsSync(path.join(run.cwd, 'sockscope-traces.jsonl')), 'help runs nothing');
  rmSync(run.cwd, { recursive: true, force: true });
});

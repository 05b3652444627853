import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TraceRecorder, otlpJsonLine } from '../helpers/spans';
import { shopTraces } from './sample';

const MAIN = resolve(__dirname, '../../src/cli/main.ts');
const dir = mkdtempSync(join(tmpdir(), 'sockscope-report-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// A JSONL file as JsonlFileSpanExporter writes it: one OTLP request per line, in export batches.
const traces = join(dir, 'traces.jsonl');
const spans = shopTraces().finished();
const half = Math.floor(spans.length / 2);
writeFileSync(traces, `${otlpJsonLine(spans.slice(0, half))}\n${otlpJsonLine(spans.slice(half))}\n`);

/** Runs the real entry point, as `sockscope report ...` does. */
function report(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'report', ...args], {
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('--json prints the contract report read from a JSONL trace file', () => {
  const r = report(traces, '--json');
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  const load = json.functions.find((f: { name: string }) => f.name === 'OrderService.load');
  assert.equal(load.calls, 3);
  assert.equal(load.exchanges, 33);
  assert.ok(load.networkTimeMs > 0 && load.wallTimeMs > load.networkTimeMs);
  assert.deepEqual(
    new Set(load.findings.map((f: { type: string }) => f.type)),
    new Set(['n+1', 'serial', 'duplicate']),
  );
  const savings = load.findings.map((f: { estimatedSavingsMs: number }) => f.estimatedSavingsMs);
  assert.deepEqual(
    savings,
    [...savings].sort((a: number, b: number) => b - a),
    'largest savings first',
  );
  assert.ok(
    load.byServer.some(
      (s: { server: string; protocol: string }) =>
        s.server === 'orders-db:5432' && s.protocol === 'postgresql',
    ),
  );
});

test('the terminal report shows each function, its servers and its findings, largest savings first', () => {
  const r = report(traces);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^5 traces, 5 functions and entry spans, 38 exchanges, 10 findings/);
  const block = r.stdout.split('\n\n').find((b) => b.startsWith('OrderService.load '));
  assert.ok(block, r.stdout);
  assert.match(block, /3 calls, 11 exchanges per call, network .* per call \(78% of wall time\)/);
  assert.match(block, /orders-db:5432 +postgresql +21 /);
  const order = ['n+1', 'serial', 'duplicate'].map((t) => block.indexOf(`\n  ${t} `));
  assert.ok(
    order.every((i) => i > 0),
    block,
  );
  assert.deepEqual(
    order,
    [...order].sort((a, b) => a - b),
  );
});

test('threshold flags change what is reported', () => {
  const strict = JSON.parse(report(traces, '--json', '--n-plus-one', '8').stdout);
  const types = strict.functions.flatMap((f: { findings: Array<{ type: string }> }) =>
    f.findings.map((x) => x.type),
  );
  assert.ok(!types.includes('n+1'));
  // The savings floor holds back serial findings only: duplicates and n+1 loops always show.
  const high = JSON.parse(report(traces, '--json', '--min-savings', '1000').stdout);
  const left = high.functions.flatMap((f: { findings: Array<{ type: string }> }) => f.findings);
  assert.ok(left.length > 0 && left.every((f: { type: string }) => f.type !== 'serial'));
  assert.deepEqual(new Set(left.map((f: { type: string }) => f.type)), new Set(['n+1', 'duplicate']));
  assert.equal(high.thresholds.minSavingsMs, 1000);
  assert.equal(high.hiddenFindings, 3, 'the three serial lookups of OrderService.load');
});

test('--rtt adds projected savings to every finding in the JSON and the page, and keeps the measured ones', () => {
  const plain = JSON.parse(report(traces, '--json').stdout);
  const out = JSON.parse(report(traces, '--json', '--rtt', '2').stdout);
  assert.equal(out.rttMs, 2);
  assert.equal(plain.rttMs, undefined);
  const findings = (r: { functions: Array<{ findings: any[] }> }) => r.functions.flatMap((f) => f.findings);
  assert.deepEqual(
    findings(out)
      .map((f) => f.estimatedSavingsMs)
      .sort(),
    findings(plain)
      .map((f) => f.estimatedSavingsMs)
      .sort(),
  );
  const load = out.functions.find((f: { name: string }) => f.name === 'OrderService.load');
  const byType = Object.fromEntries(load.findings.map((f: any) => [f.type, f]));
  // n+1 of 6 queries batched into one, serial of 3 reads run together, duplicate of 2 reads.
  assert.deepEqual(
    ['n+1', 'serial', 'duplicate'].map((t) => byType[t].roundTripsSaved),
    [5, 2, 1],
  );
  for (const f of findings(out)) {
    assert.equal(
      f.projectedSavingsMs,
      Math.round((f.estimatedSavingsMs + f.roundTripsSaved * 2) * 1000) / 1000,
    );
  }
  const page = join(dir, 'rtt.html');
  assert.equal(report(traces, '--rtt', '2', '--html', page).code, 0);
  const html = readFileSync(page, 'utf8');
  assert.ok(html.includes('<th class="num">At 2 ms RTT (mean)</th>'));
  assert.match(html, /could save ~[\d.]+ ms here; ~[\d.]+ ms at 2 ms RTT/);
  assert.ok(
    html.includes(
      'Every duplicate and n+1 is shown; serial calls saving under 1 ms at 2 ms RTT are not (0 left out); --min-savings 0 shows them.',
    ),
  );
});

test('--html writes one self-contained page and the terminal report still prints', () => {
  const page = join(dir, 'out.html');
  const r = report(traces, '--html', page, '--html-traces', '2');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(page));
  const html = readFileSync(page, 'utf8');
  assert.ok(html.includes('Showing 2 of 5 traces'));
  assert.match(r.stdout, /OrderService\.load/);
});

for (const [what, args, pattern] of [
  ['an unknown flag', ['--frobnicate', 'x'], /frobnicate/],
  [
    'a bad threshold',
    ['--min-savings', 'soon', 'f'],
    /--min-savings: 'soon' is not a number of milliseconds/,
  ],
  ['an n+1 threshold below 2', ['--n-plus-one', '1', 'f'], /--n-plus-one/],
  [
    'an --rtt that is not a number',
    ['--rtt', 'abc', 'f'],
    /report: --rtt: 'abc' is not a round-trip time in milliseconds/,
  ],
  ['a negative --rtt', ['--rtt', '-1', 'f'], /report: --rtt: '-1' is not a round-trip time in milliseconds/],
  ['an --rtt of zero', ['--rtt', '0', 'f'], /report: --rtt: '0' is not a round-trip time in milliseconds/],
  ['no input file', ['--json'], /give trace files/],
  ['a missing file', [join(dir, 'nope.jsonl')], /nope\.jsonl/],
] as const) {
  test(`${what} exits 2 with one line on stderr`, () => {
    const r = report(...args);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, pattern);
  });
}

test('a file in no trace format exits 2 naming the file', () => {
  const bad = join(dir, 'notes.json');
  writeFileSync(bad, '{"hello": "world"}\n');
  const r = report(bad);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /notes\.json/);
});

test('a damaged line in a JSONL file is skipped with a warning, and the rest is reported', () => {
  const damaged = join(dir, 'damaged.jsonl');
  const line = otlpJsonLine(spans);
  writeFileSync(damaged, `${line}\n{"resourceSpans": [\n${line}\n`);
  const r = report(damaged, '--json');
  assert.equal(r.code, 0);
  assert.match(r.stderr, /damaged\.jsonl: skipped 1 of 3 lines/);
  assert.ok(JSON.parse(r.stdout).functions.length > 0);
});

test('terminal control characters from a trace file are printed inert', () => {
  const rec = new TraceRecorder('svc');
  const req = rec.request('GET /\u001b[2J\u001b]0;pwned\u0007', { start: 0, end: 10 });
  rec.exchange(req, { protocol: 'redis', operation: 'GET', server: 'cache:6379', start: 1, end: 2 });
  const file = join(dir, 'escape.jsonl');
  writeFileSync(file, `${otlpJsonLine(rec.finished())}\n`);
  const r = report(file);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes('\u001b'), 'no escape character reaches the terminal');
  assert.match(r.stdout, /GET \/\uFFFD\[2J/);
});

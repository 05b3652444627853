import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GAP_CONTRACT_KEYS as CONTRACT_KEYS,
  GAP_ROW_KEYS as ROW_KEYS,
  Recorder,
  jaegerTraces,
  otlpJson,
  sampleService,
  zipkinJson,
} from '../analysis/helpers';
import { cli, closedPort, lines, serve } from './helpers';

const FIXTURES = join(__dirname, '../fixtures/formats');
let dir: string;
let mixed: string; // covered and uncovered exchanges
let allCovered: string;
let chatterOnly: string; // every operation covered; setup and teardown without a span

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sockscope-cli-'));
  const rec = sampleService();
  const root = rec.root('job');
  rec.exchange(root, { protocol: 'mysql', caller: 'mysql2', host: 'maria', port: 3306, start: 0, end: 1234 });
  mixed = join(dir, 'mixed.jsonl');
  // Two export batches, as JsonlFileSpanExporter writes them: one request per line.
  const spans = rec.finished();
  writeFileSync(mixed, `${otlpJson(spans.slice(0, 4))}\n${otlpJson(spans.slice(4))}\n`);

  const ok = new Recorder();
  const r = ok.root('job');
  const get = ok.upstream(r, '@opentelemetry/instrumentation-ioredis', { name: 'get', start: 0, end: 10 });
  ok.exchange(get, { protocol: 'redis', caller: 'ioredis', host: 'cache', port: 6379, start: 1, end: 9 });
  allCovered = join(dir, 'covered.jsonl');
  writeFileSync(allCovered, `${otlpJson(ok.finished())}\n`);

  const pg = new Recorder();
  const job = pg.root('job');
  pg.upstream(job, '@opentelemetry/instrumentation-pg', {
    host: 'db.internal',
    port: 5432,
    start: 10,
    end: 20,
  });
  pg.exchange(job, { protocol: 'postgresql', operation: 'STARTUP', phase: 'setup', start: 0, end: 5 });
  pg.exchange(job, { protocol: 'postgresql', operation: 'SELECT', phase: 'operation', start: 11, end: 19 });
  pg.exchange(job, { protocol: 'postgresql', operation: 'TERMINATE', phase: 'teardown', start: 30, end: 31 });
  chatterOnly = join(dir, 'chatter.jsonl');
  writeFileSync(chatterOnly, `${otlpJson(pg.finished())}\n`);
});

after(() => rmSync(dir, { recursive: true, force: true }));

const EXPECTED_JSON = {
  rows: [
    {
      callerPackage: 'mysql2',
      protocol: 'mysql',
      server: 'maria:3306',
      exchanges: 1,
      covered: 0,
      uncovered: 1,
      coveredBy: [],
      uncoveredTimeMs: 1234,
      suggestion: 'enable `@opentelemetry/instrumentation-mysql2`',
    },
    {
      callerPackage: 'mqtt',
      protocol: 'mqtt',
      server: 'broker:1883',
      exchanges: 2,
      covered: 0,
      uncovered: 2,
      coveredBy: [],
      uncoveredTimeMs: 60,
      suggestion: "no official instrumentation: sockscope's spans are your visibility",
    },
    {
      callerPackage: 'ioredis',
      protocol: 'redis',
      server: 'cache:6379',
      exchanges: 1,
      covered: 1,
      uncovered: 0,
      coveredBy: ['@opentelemetry/instrumentation-ioredis'],
      uncoveredTimeMs: 0,
      suggestion: 'covered',
    },
    {
      callerPackage: 'pg',
      protocol: 'postgresql',
      server: 'db.internal:5432',
      exchanges: 1,
      covered: 1,
      uncovered: 0,
      coveredBy: ['@opentelemetry/instrumentation-pg'],
      uncoveredTimeMs: 0,
      suggestion: 'covered',
    },
  ],
  totals: { exchanges: 5, covered: 2, uncovered: 3 },
};

const TOTAL_KEYS = [
  'exchanges',
  'covered',
  'uncovered',
  'operations',
  'operationsCovered',
  'operationsUncovered',
  'phases',
];

type JsonOut = {
  rows: Array<Record<string, unknown> & { phases: Record<string, unknown> }>;
  totals: Record<string, unknown>;
  rttMs?: number;
};

const pick = (o: Record<string, unknown>, keys: readonly string[]) =>
  Object.fromEntries(keys.map((k) => [k, o[k]]));

test('gaps --json keeps the contract fields and their meaning, with the phase-aware fields beside them', async () => {
  const r = await cli(['gaps', mixed, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr.trim(), '');
  const out = JSON.parse(r.stdout) as JsonOut;
  assert.deepEqual(
    out.rows.map((row) => pick(row, CONTRACT_KEYS)),
    EXPECTED_JSON.rows,
  );
  assert.deepEqual(pick(out.totals, ['exchanges', 'covered', 'uncovered']), EXPECTED_JSON.totals);
  assert.deepEqual(Object.keys(out), ['rows', 'totals']);
  assert.deepEqual(Object.keys(out.totals), TOTAL_KEYS);
  for (const row of out.rows) {
    assert.deepEqual(Object.keys(row), ROW_KEYS);
    assert.deepEqual(Object.keys(row.phases), ['setup', 'operation', 'teardown', 'heartbeat']);
  }
  assert.deepEqual(
    out.rows.map((row) => [row.callerPackage, row.verdict, row.operations, row.operationsUncovered]),
    [
      ['mysql2', 'uncovered', 1, 1],
      ['mqtt', 'uncovered', 2, 2],
      ['ioredis', 'covered', 1, 0],
      ['pg', 'covered', 1, 0],
    ],
  );
  assert.deepEqual(out.rows[1].uncoveredOperationNames, ['PUBLISH']);
});

test('the table leads with the biggest blind spot, aligns its columns, ends with totals and has no colour when piped', async () => {
  const r = await cli(['gaps', mixed]);
  assert.equal(r.code, 0, r.stderr);
  const out = lines(r.stdout);
  assert.match(
    out[0],
    /^5 exchanges with 4 servers: 2 covered by upstream instrumentation, 3 uncovered \(60%\)\.$/,
  );
  assert.equal(out[1], '5 operations: 2 covered, 3 uncovered (60%).');
  assert.match(
    out[2],
    /^Biggest blind spot: mysql2 -> mysql maria:3306: 1 of 1 operation uncovered, 1\.23 s\. enable `@opentelemetry\/instrumentation-mysql2`$/,
  );
  const header = out[3];
  assert.match(header, /^CALLER +PROTOCOL +SERVER +OPS +CHATTER +GAP TIME +COVERED BY$/);
  const rows = out.slice(4, 8);
  assert.deepEqual(
    rows.map((l) => l.split(/\s{2,}/)[0]),
    ['mysql2', 'mqtt', 'ioredis', 'pg'],
  );
  assert.match(rows[1], /^mqtt +mqtt +broker:1883 +0\/2 +- +60 ms +-$/);
  // Every row's columns start where the header's do.
  const col = header.indexOf('PROTOCOL');
  for (const l of rows) {
    assert.equal(l.slice(col - 2, col), '  ', l);
    assert.notEqual(l[col], ' ', l);
  }
  assert.deepEqual(
    out.slice(3, out.indexOf('what to do:')).filter((l) => l.length > 100),
    [],
    'the table fits a 100-column terminal',
  );
  // Suggestions are notes under the table, one per row with an uncovered operation.
  const notes = out.slice(out.indexOf('what to do:') + 1);
  assert.equal(notes[0], '  mysql2 -> mysql maria:3306: enable `@opentelemetry/instrumentation-mysql2`');
  assert.equal(notes.length, 2);
  const total = out.find((l) => l.startsWith('total '));
  assert.match(total ?? '', /^total +4 rows +2\/5 +- +1\.29 s +60% of ops uncovered$/);
  assert.ok(!r.stdout.includes('\u001b['), 'no escape codes when not a TTY');
});

test('a row whose only gaps are setup and teardown is no blind spot: covered, chatter counted apart, no note', async () => {
  const r = await cli(['gaps', chatterOnly]);
  assert.equal(r.code, 0, r.stderr);
  const out = lines(r.stdout);
  assert.equal(
    out[1],
    '1 operation: 1 covered, 0 uncovered (0%); 2 setup/teardown/heartbeat exchanges: 0 covered, 2 with no span.',
  );
  assert.equal(
    out[2],
    'No blind spots: every operation is described by an upstream instrumentation (2 setup/teardown exchanges with no span: normal).',
  );
  assert.match(out[4], /^pg +postgresql +db\.internal:5432 +1\/1 +0\/2 +- +instrumentation-pg$/);
  assert.ok(!out.includes('what to do:'), 'nothing to do');
  const json = JSON.parse((await cli(['gaps', chatterOnly, '--json'])).stdout) as JsonOut;
  const [row] = json.rows;
  assert.equal(row.verdict, 'covered');
  assert.equal(row.suggestion, 'covered; 2 setup/teardown exchanges have no span (normal)');
  assert.deepEqual(pick(row, ['exchanges', 'covered', 'uncovered']), {
    exchanges: 3,
    covered: 1,
    uncovered: 2,
  });
});

test('--fail-on-uncovered exits 1 only on an uncovered operation; --strict also on uncovered chatter', async () => {
  assert.equal((await cli(['gaps', mixed, '--fail-on-uncovered'])).code, 1);
  const ok = await cli(['gaps', allCovered, '--fail-on-uncovered']);
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /No blind spots/);
  assert.equal((await cli(['gaps', chatterOnly, '--fail-on-uncovered'])).code, 0, 'chatter is normal');
  assert.equal((await cli(['gaps', chatterOnly, '--fail-on-uncovered', '--strict'])).code, 1);
  assert.equal((await cli(['gaps', allCovered, '--fail-on-uncovered', '--strict'])).code, 0);
  // --strict alone gates nothing: one line saying what to add, exit 2.
  const alone = await cli(['gaps', chatterOnly, '--strict']);
  assert.equal(alone.code, 2);
  assert.equal(alone.stderr.trim().split('\n').length, 1);
  assert.match(alone.stderr, /--strict .* give it with --fail-on-uncovered/);
});

test('--rtt MS projects the uncovered operation time at that round trip, in the headline, the table and --json', async () => {
  const r = await cli(['gaps', mixed, '--rtt', '20']);
  assert.equal(r.code, 0, r.stderr);
  const out = lines(r.stdout);
  // mysql2: 1234 ms measured, one uncovered exchange: 1234 + 20.
  assert.match(out[2], /: 1 of 1 operation uncovered, 1\.23 s here; ~1\.25 s at 20 ms RTT\. enable/);
  assert.match(out[3], /^CALLER +PROTOCOL +SERVER +OPS +CHATTER +GAP TIME +AT 20 ms RTT +COVERED BY$/);
  assert.match(out[5], /^mqtt +mqtt +broker:1883 +0\/2 +- +60 ms +~100 ms +-$/);
  const json = JSON.parse((await cli(['gaps', mixed, '--rtt', '20', '--json'])).stdout) as JsonOut;
  assert.equal(json.rttMs, 20);
  assert.deepEqual(
    json.rows.map((row) => [row.projectedUncoveredTimeMs, row.projectedUncoveredOperationTimeMs]),
    [
      [1254, 1254],
      [100, 100],
      [0, 0],
      [0, 0],
    ],
  );
  const plain = JSON.parse((await cli(['gaps', mixed, '--json'])).stdout) as JsonOut;
  assert.equal(plain.rows[0].projectedUncoveredTimeMs, undefined, 'only with --rtt');
  const bad = await cli(['gaps', mixed, '--rtt', 'fast']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--rtt: 'fast' is not a round-trip time/);
});

test('the shared trace samples have no sockscope spans: gaps says so, says how to register SocketInstrumentation, exits 0', async () => {
  for (const f of ['otlp-trace-example.json', 'jaeger-ui-trace.json']) {
    const r = await cli(['gaps', join(FIXTURES, f)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^No sockscope spans found in .*\(\d+ spans? read\)/);
    assert.match(r.stdout, /SocketInstrumentation/);
    assert.match(r.stdout, /--require sockscope\/register/);
  }
  const json = await cli(['gaps', join(FIXTURES, 'otlp-trace-example.json'), '--json']);
  const empty = JSON.parse(json.stdout) as JsonOut;
  assert.deepEqual(empty.rows, []);
  assert.deepEqual(pick(empty.totals, ['exchanges', 'covered', 'uncovered', 'operations']), {
    exchanges: 0,
    covered: 0,
    uncovered: 0,
    operations: 0,
  });
  assert.match(json.stderr, /No sockscope spans found/);
});

test('an unreadable file is one stderr line naming it, exit 2', async () => {
  const missing = join(dir, 'nope.jsonl');
  const r = await cli(['gaps', missing]);
  assert.equal(r.code, 2);
  assert.deepEqual(lines(r.stderr), [`sockscope: ${missing}: cannot read: no such file`]);
  assert.equal(r.stdout, '');
});

test('invalid JSON is one stderr line naming the file and line, exit 2', async () => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{\n  "data": [\n    {"traceID": "1", "spans": [}\n  ]\n}\n');
  const r = await cli(['gaps', bad]);
  assert.equal(r.code, 2);
  const l = lines(r.stderr);
  assert.equal(l.length, 1);
  assert.equal(l[0], `sockscope: ${bad}:3: invalid JSON: unexpected "}"`);
});

test('a JSON file in no known trace format is one stderr line, exit 2', async () => {
  const other = join(dir, 'package.json');
  writeFileSync(other, JSON.stringify({ name: 'x', version: '1.0.0' }, null, 2));
  const r = await cli(['gaps', other]);
  assert.equal(r.code, 2);
  assert.deepEqual(lines(r.stderr), [
    `sockscope: ${other}: unknown trace format: expected OTLP/JSON (JSONL), Jaeger JSON or Zipkin v2 JSON`,
  ]);
});

test('a file with some bad lines is analysed from the good ones with one warning giving the count', async () => {
  const some = join(dir, 'some-bad.jsonl');
  const good = otlpJson(sampleService().finished());
  writeFileSync(some, `${good}\n{"cut off\n${good}\nnot json\n`);
  const r = await cli(['gaps', some, '--json']);
  assert.equal(r.code, 0);
  assert.deepEqual(lines(r.stderr), [
    `sockscope gaps: warning: ${some}: skipped 2 of 4 lines (first at line 2: invalid JSON: unexpected end of input)`,
  ]);
  // The same request twice (as an export retry writes it): its spans count once.
  assert.equal((JSON.parse(r.stdout) as { totals: { exchanges: number } }).totals.exchanges, 4);
});

test('bad options are one stderr line and exit 2', async () => {
  for (const [args, msg] of [
    [['gaps', mixed, '--frob'], /Unknown option '--frob'/],
    [['gaps'], /give trace files/],
    [['gaps', '--jaeger', 'http://127.0.0.1:1'], /--jaeger needs --service NAME/],
    [['gaps', '--zipkin', 'localhost:9411', '--service', 'x'], /not an http\(s\) URL/],
    [['gaps', '--jaeger', 'http://j', '--service', 's', '--lookback', 'soon'], /'soon' is not a duration/],
    [['gaps', '--jaeger', 'http://j', '--service', 's', '--limit', '0'], /not a positive integer/],
  ] as Array<[string[], RegExp]>) {
    const r = await cli(args);
    assert.equal(r.code, 2, args.join(' '));
    const l = lines(r.stderr);
    assert.equal(l.length, 1, r.stderr);
    assert.match(l[0], msg);
  }
});

test('--jaeger reads /api/traces for the service and analyses the answer', async () => {
  const seen: URL[] = [];
  const rec = sampleService();
  const s = await serve((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push(url);
    if (url.pathname !== '/jaeger/api/traces') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({ data: jaegerTraces(rec.finished()), total: 0, limit: 0, offset: 0, errors: null }),
    );
  });
  try {
    const r = await cli([
      'gaps',
      '--jaeger',
      `${s.url}/jaeger/`,
      '--service',
      'checkout',
      '--lookback',
      '2h',
      '--limit',
      '7',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      rows: Array<{ callerPackage: string; coveredBy: string[] }>;
      totals: unknown;
    };
    assert.deepEqual(pick(out.totals as Record<string, unknown>, ['exchanges', 'covered', 'uncovered']), {
      exchanges: 4,
      covered: 2,
      uncovered: 2,
    });
    assert.deepEqual(out.rows.find((x) => x.callerPackage === 'pg')?.coveredBy, [
      '@opentelemetry/instrumentation-pg',
    ]);
    assert.equal(seen.length, 1);
    const q = seen[0].searchParams;
    assert.equal(q.get('service'), 'checkout');
    assert.equal(q.get('limit'), '7');
    assert.equal(Number(q.get('end')) - Number(q.get('start')), 2 * 3600 * 1e6);
  } finally {
    await s.close();
  }
});

test('--zipkin reads /api/v2/traces for the service and analyses the answer', async () => {
  const rec = sampleService();
  const spans = JSON.parse(await zipkinJson(rec.finished())) as unknown[];
  const seen: URL[] = [];
  const s = await serve((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push(url);
    res.writeHead(200, { 'content-type': 'application/json' });
    // Zipkin answers with a list of traces, each a list of spans.
    res.end(JSON.stringify([spans]));
  });
  try {
    const r = await cli(['gaps', '--zipkin', s.url, '--service', 'checkout', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(pick((JSON.parse(r.stdout) as JsonOut).totals, ['exchanges', 'covered', 'uncovered']), {
      exchanges: 4,
      covered: 2,
      uncovered: 2,
    });
    assert.equal(seen[0].pathname, '/api/v2/traces');
    assert.equal(seen[0].searchParams.get('serviceName'), 'checkout');
    assert.equal(seen[0].searchParams.get('lookback'), '3600000');
  } finally {
    await s.close();
  }
});

test('a Jaeger or Zipkin API answering 500 is one stderr line, exit 2', async () => {
  const s = await serve((_req, res) => {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data: null, errors: [{ code: 500, msg: 'storage unavailable' }] }));
  });
  try {
    const j = await cli(['gaps', '--jaeger', s.url, '--service', 'checkout']);
    assert.equal(j.code, 2);
    assert.deepEqual(lines(j.stderr), [
      `sockscope: Jaeger at ${s.url}/api/traces: answered HTTP 500 Internal Server Error: storage unavailable`,
    ]);
    const z = await cli(['gaps', '--zipkin', s.url, '--service', 'checkout']);
    assert.equal(z.code, 2);
    assert.equal(lines(z.stderr).length, 1);
    assert.match(z.stderr, /^sockscope: Zipkin at .*\/api\/v2\/traces: answered HTTP 500/);
  } finally {
    await s.close();
  }
});

test('a Jaeger URL where nothing listens is one stderr line, exit 2', async () => {
  const port = await closedPort();
  const r = await cli(['gaps', '--jaeger', `http://127.0.0.1:${port}`, '--service', 'checkout']);
  assert.equal(r.code, 2);
  assert.deepEqual(lines(r.stderr), [
    `sockscope: Jaeger at http://127.0.0.1:${port}/api/traces: cannot connect (ECONNREFUSED)`,
  ]);
});

test('an API answering something that is not trace JSON is one stderr line, exit 2', async () => {
  const s = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html>login</html>');
  });
  try {
    const r = await cli(['gaps', '--jaeger', s.url, '--service', 'checkout']);
    assert.equal(r.code, 2);
    assert.equal(lines(r.stderr).length, 1);
    assert.match(r.stderr, /answered with invalid JSON/);
  } finally {
    await s.close();
  }
});

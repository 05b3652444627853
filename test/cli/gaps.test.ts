import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Recorder, jaegerTraces, otlpJson, sampleService, zipkinJson } from '../analysis/helpers';
import { cli, closedPort, lines, serve } from './helpers';

const FIXTURES = join(__dirname, '../fixtures/formats');
let dir: string;
let mixed: string; // covered and uncovered exchanges
let allCovered: string;

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

test('gaps --json prints exactly the contract shape, biggest uncovered time first', async () => {
  const r = await cli(['gaps', mixed, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr.trim(), '');
  const out = JSON.parse(r.stdout) as typeof EXPECTED_JSON;
  assert.deepEqual(out, EXPECTED_JSON);
  assert.deepEqual(Object.keys(out), ['rows', 'totals']);
  assert.deepEqual(Object.keys(out.totals), ['exchanges', 'covered', 'uncovered']);
});

test('the table leads with the biggest blind spot, aligns its columns, ends with totals and has no colour when piped', async () => {
  const r = await cli(['gaps', mixed]);
  assert.equal(r.code, 0, r.stderr);
  const out = lines(r.stdout);
  assert.match(
    out[0],
    /^5 exchanges with 4 servers: 2 covered by upstream instrumentation, 3 uncovered \(60%\)\.$/,
  );
  assert.match(
    out[1],
    /^Biggest blind spot: mysql2 -> mysql maria:3306: 1 uncovered exchange, 1\.23 s\. enable `@opentelemetry\/instrumentation-mysql2`$/,
  );
  const header = out[2];
  assert.match(header, /^CALLER +PROTOCOL +SERVER +EXCHANGES +COVERED +GAPS +GAP TIME +COVERED BY$/);
  const rows = out.slice(3, 7);
  assert.deepEqual(
    rows.map((l) => l.split(/\s{2,}/)[0]),
    ['mysql2', 'mqtt', 'ioredis', 'pg'],
  );
  // Every row's columns start where the header's do.
  const col = header.indexOf('PROTOCOL');
  for (const l of rows) {
    assert.equal(l.slice(col - 2, col), '  ', l);
    assert.notEqual(l[col], ' ', l);
  }
  assert.deepEqual(
    out.slice(2, out.indexOf('what to do:')).filter((l) => l.length > 100),
    [],
    'the table fits a 100-column terminal',
  );
  // Suggestions are numbered notes under the table, one per row that needs one.
  const notes = out.slice(out.indexOf('what to do:') + 1);
  assert.equal(notes[0], '  mysql2 -> mysql maria:3306: enable `@opentelemetry/instrumentation-mysql2`');
  assert.equal(notes.length, 2);
  assert.match(out[out.indexOf('what to do:') - 1], /^total +4 rows +5 +2 +3 +1\.29 s +60% uncovered$/);
  assert.ok(!r.stdout.includes('\u001b['), 'no escape codes when not a TTY');
});

test('--fail-on-uncovered exits 1 when any exchange is uncovered, 0 when all are covered', async () => {
  assert.equal((await cli(['gaps', mixed, '--fail-on-uncovered'])).code, 1);
  const ok = await cli(['gaps', allCovered, '--fail-on-uncovered']);
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /No blind spots/);
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
  assert.deepEqual(JSON.parse(json.stdout), { rows: [], totals: { exchanges: 0, covered: 0, uncovered: 0 } });
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
    assert.deepEqual(out.totals, { exchanges: 4, covered: 2, uncovered: 2 });
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
    assert.deepEqual((JSON.parse(r.stdout) as { totals: unknown }).totals, {
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

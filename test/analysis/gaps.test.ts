import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind } from '@opentelemetry/api';
import { GapAccumulator, analyzeGaps, analyzeGapsStream } from '../../src/analysis/gaps';
import type { TraceSpan } from '../../src/analysis/model';
import { parseTraceText } from '../../src/analysis/read';
import { SUGGEST_COVERED, SUGGEST_NONE } from '../../src/analysis/suggestions';
import { Recorder, jaegerTraces, otlpJson, sampleService, zipkinJson } from './helpers';

function spansOf(rec: Recorder): TraceSpan[] {
  return parseTraceText(otlpJson(rec.finished()), 'mem');
}

test('one row per caller package x protocol x server, biggest uncovered time first, with totals', () => {
  const result = analyzeGaps(spansOf(sampleService()));
  assert.deepEqual(result, {
    rows: [
      {
        callerPackage: 'mqtt',
        protocol: 'mqtt',
        server: 'broker:1883',
        exchanges: 2,
        covered: 0,
        uncovered: 2,
        coveredBy: [],
        uncoveredTimeMs: 60,
        suggestion: SUGGEST_NONE,
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
        suggestion: SUGGEST_COVERED,
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
        suggestion: SUGGEST_COVERED,
      },
    ],
    totals: { exchanges: 4, covered: 2, uncovered: 2 },
  });
  assert.deepEqual(Object.keys(result.rows[0]), [
    'callerPackage',
    'protocol',
    'server',
    'exchanges',
    'covered',
    'uncovered',
    'coveredBy',
    'uncoveredTimeMs',
    'suggestion',
  ]);
});

test('an uncovered client with an official instrumentation is told to enable it', () => {
  const rec = new Recorder();
  const root = rec.root('job');
  rec.exchange(root, { protocol: 'mysql', caller: 'mysql2', host: 'maria', port: 3306, start: 0, end: 7 });
  const [row] = analyzeGaps(spansOf(rec)).rows;
  assert.equal(row.suggestion, 'enable `@opentelemetry/instrumentation-mysql2`');
  assert.equal(row.uncoveredTimeMs, 7);
});

test('a partly covered row says which instrumentation covers the rest', () => {
  const rec = new Recorder();
  const root = rec.root('job');
  rec.upstream(root, '@opentelemetry/instrumentation-pg', {
    host: 'db.internal',
    port: 5432,
    start: 0,
    end: 10,
  });
  rec.exchange(root, { protocol: 'postgresql', start: 1, end: 9 });
  rec.exchange(root, { protocol: 'postgresql', operation: 'Terminate', start: 20, end: 21 });
  const [row] = analyzeGaps(spansOf(rec)).rows;
  assert.equal(row.covered, 1);
  assert.equal(row.uncovered, 1);
  assert.match(
    row.suggestion,
    /^partly covered by `@opentelemetry\/instrumentation-pg`: 1 exchange outside its spans/,
  );
});

test('coveredBy lists each covering scope once, sorted', () => {
  const rec = new Recorder();
  const root = rec.root('job');
  for (const [i, scope] of ['z-client', 'a-client', 'z-client'].entries()) {
    const p = rec.upstream(root, scope, { start: i * 10, end: i * 10 + 5 });
    rec.exchange(p, { caller: 'custom', start: i * 10 + 1, end: i * 10 + 2 });
  }
  assert.deepEqual(analyzeGaps(spansOf(rec)).rows[0].coveredBy, ['a-client', 'z-client']);
});

test('unrecognised protocols fall back to the transport; unix servers are their path; IPv6 hosts get brackets', () => {
  const rec = new Recorder();
  const root = rec.root('job');
  rec.exchange(root, { caller: '(app)', host: '/run/app.sock', transport: 'unix', start: 0, end: 1 });
  rec.exchange(root, { caller: '(app)', host: '::1', port: 7000, start: 0, end: 3 });
  const rows = analyzeGaps(spansOf(rec)).rows;
  assert.deepEqual(
    rows.map((r) => [r.protocol, r.server, r.suggestion]),
    [
      ['tcp', '[::1]:7000', SUGGEST_NONE],
      ['unix', '/run/app.sock', SUGGEST_NONE],
    ],
  );
});

test('core http from application code is told to enable instrumentation-http, fetch instrumentation-undici', () => {
  const rec = new Recorder();
  const root = rec.root('job');
  rec.exchange(root, { protocol: 'http', caller: '(app)', host: 'api', port: 80, start: 0, end: 5 });
  rec.exchange(root, { protocol: 'http', caller: 'undici', host: 'api', port: 80, start: 0, end: 4 });
  assert.deepEqual(
    analyzeGaps(spansOf(rec)).rows.map((r) => r.suggestion),
    ['enable `@opentelemetry/instrumentation-http`', 'enable `@opentelemetry/instrumentation-undici`'],
  );
});

test('an opaque HTTP/2 connection counts as one exchange with no official instrumentation', () => {
  const rec = new Recorder();
  const root = rec.root('job');
  rec.span('sockscope', 'tcp connect', {
    parent: root,
    kind: SpanKind.CLIENT,
    start: 0,
    end: 80,
    attributes: {
      'sockscope.kind': 'connection',
      'sockscope.opaque': true,
      'sockscope.caller.package': '(app)',
      'server.address': 'api',
      'server.port': 443,
      'network.transport': 'tcp',
      'tls.next_protocol': 'h2',
    },
  });
  const { rows, totals } = analyzeGaps(spansOf(rec));
  assert.deepEqual(totals, { exchanges: 1, covered: 0, uncovered: 1 });
  assert.equal(rows[0].protocol, 'http2');
  assert.equal(rows[0].suggestion, SUGGEST_NONE);
});

test('spans with no sockscope exchanges give no rows and zero totals', () => {
  const rec = new Recorder();
  rec.upstream(rec.root('job'), '@opentelemetry/instrumentation-pg', { start: 0, end: 1 });
  assert.deepEqual(analyzeGaps(spansOf(rec)), {
    rows: [],
    totals: { exchanges: 0, covered: 0, uncovered: 0 },
  });
});

test('the accumulator fed span by span gives the same rows as analyzeGaps', async () => {
  const batchA = spansOf(sampleService());
  const batchB = spansOf(sampleService());
  const spans = [...batchA, ...batchB];
  const acc = new GapAccumulator({ maxPending: 2 });
  for (const batch of [batchA, batchB]) {
    for (const s of batch) acc.add(s);
    acc.endBatch();
  }
  assert.deepEqual(acc.result(), analyzeGaps(spans));
  assert.equal(acc.stats.spans, 14);
  assert.equal(acc.stats.sockscopeSpans, 8);
  async function* batches(): AsyncGenerator<TraceSpan[]> {
    yield spans;
  }
  const streamed = await analyzeGapsStream(batches());
  assert.deepEqual(streamed.rows, analyzeGaps(spans).rows);
});

test('Jaeger and Zipkin copies of the same spans give the same verdicts as OTLP', async () => {
  const rec = sampleService();
  const otlp = analyzeGaps(spansOf(rec));
  const jaeger = analyzeGaps(
    parseTraceText(JSON.stringify({ data: jaegerTraces(rec.finished()) }), 'jaeger'),
  );
  assert.deepEqual(jaeger, otlp);
  // Zipkin keeps no scope: same counts, covering scopes unknown.
  const zipkin = analyzeGaps(parseTraceText(await zipkinJson(rec.finished()), 'zipkin'));
  assert.deepEqual(zipkin.totals, otlp.totals);
  assert.deepEqual(
    zipkin.rows.map((r) => [r.callerPackage, r.covered, r.uncovered]),
    otlp.rows.map((r) => [r.callerPackage, r.covered, r.uncovered]),
  );
});

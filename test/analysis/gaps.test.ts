import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind } from '@opentelemetry/api';
import { GapAccumulator, analyzeGaps, analyzeGapsStream } from '../../src/analysis/gaps';
import type { TraceSpan } from '../../src/analysis/model';
import { parseTraceText } from '../../src/analysis/read';
import { SUGGEST_COVERED, SUGGEST_NONE, SUGGEST_NONE_HTTP2 } from '../../src/analysis/suggestions';
import { GAP_ROW_KEYS, Recorder, jaegerTraces, otlpJson, sampleService, zipkinJson } from './helpers';

function spansOf(rec: Recorder): TraceSpan[] {
  return parseTraceText(otlpJson(rec.finished()), 'mem');
}

const ZERO = { exchanges: 0, covered: 0, uncovered: 0 };

test('one row per caller package x protocol x server, biggest uncovered time first, with totals', () => {
  const result = analyzeGaps(spansOf(sampleService()));
  const phases = (operation: typeof ZERO) => ({ setup: ZERO, operation, teardown: ZERO, heartbeat: ZERO });
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
        verdict: 'uncovered',
        operations: 2,
        operationsCovered: 0,
        operationsUncovered: 2,
        uncoveredOperationTimeMs: 60,
        uncoveredOperationNames: ['PUBLISH'],
        phases: phases({ exchanges: 2, covered: 0, uncovered: 2 }),
        callerPackageVersions: [],
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
        verdict: 'covered',
        operations: 1,
        operationsCovered: 1,
        operationsUncovered: 0,
        uncoveredOperationTimeMs: 0,
        uncoveredOperationNames: [],
        phases: phases({ exchanges: 1, covered: 1, uncovered: 0 }),
        callerPackageVersions: [],
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
        verdict: 'covered',
        operations: 1,
        operationsCovered: 1,
        operationsUncovered: 0,
        uncoveredOperationTimeMs: 0,
        uncoveredOperationNames: [],
        phases: phases({ exchanges: 1, covered: 1, uncovered: 0 }),
        callerPackageVersions: [],
      },
    ],
    totals: {
      exchanges: 4,
      covered: 2,
      uncovered: 2,
      operations: 4,
      operationsCovered: 2,
      operationsUncovered: 2,
      phases: phases({ exchanges: 4, covered: 2, uncovered: 2 }),
    },
  });
  // The contract's fields come first, in their order; the phase-aware ones follow.
  assert.deepEqual(Object.keys(result.rows[0]), GAP_ROW_KEYS);
});

test('an uncovered client with an official instrumentation is told to enable it', () => {
  const rec = new Recorder();
  const root = rec.root('job');
  rec.exchange(root, { protocol: 'mysql', caller: 'mysql2', host: 'maria', port: 3306, start: 0, end: 7 });
  const [row] = analyzeGaps(spansOf(rec)).rows;
  assert.equal(row.suggestion, 'enable `@opentelemetry/instrumentation-mysql2`');
  assert.equal(row.uncoveredTimeMs, 7);
});

test('a covered client whose only gaps are setup and teardown is covered, and its chatter is called normal', () => {
  const rec = new Recorder();
  const root = rec.root('job');
  rec.upstream(root, '@opentelemetry/instrumentation-pg', {
    host: 'db.internal',
    port: 5432,
    start: 0,
    end: 10,
  });
  rec.exchange(root, { protocol: 'postgresql', operation: 'STARTUP', phase: 'setup', start: -20, end: -15 });
  rec.exchange(root, { protocol: 'postgresql', operation: 'SELECT', phase: 'operation', start: 1, end: 9 });
  rec.exchange(root, {
    protocol: 'postgresql',
    operation: 'TERMINATE',
    phase: 'teardown',
    start: 20,
    end: 21,
  });
  const [row] = analyzeGaps(spansOf(rec)).rows;
  assert.deepEqual(
    [
      row.exchanges,
      row.covered,
      row.uncovered,
      row.operations,
      row.operationsCovered,
      row.operationsUncovered,
    ],
    [3, 1, 2, 1, 1, 0],
  );
  assert.equal(row.verdict, 'covered');
  assert.deepEqual(row.phases.setup, { exchanges: 1, covered: 0, uncovered: 1 });
  assert.deepEqual(row.phases.teardown, { exchanges: 1, covered: 0, uncovered: 1 });
  assert.equal(row.uncoveredTimeMs, 6, 'the old field still counts every uncovered exchange');
  assert.equal(row.uncoveredOperationTimeMs, 0);
  assert.deepEqual(row.uncoveredOperationNames, []);
  assert.equal(row.suggestion, 'covered; 2 setup/teardown exchanges have no span (normal)');
});

test('a partly covered row counts its operations and names the uncovered ones, most frequent first', () => {
  const rec = new Recorder();
  const root = rec.root('job');
  const amqp = { protocol: 'amqp', caller: 'amqplib', host: 'mq', port: 5672 };
  rec.exchange(root, { ...amqp, operation: 'connection.start-ok', phase: 'setup', start: 0, end: 1 });
  rec.exchange(root, { ...amqp, operation: 'channel.open', phase: 'setup', start: 1, end: 2 });
  for (let i = 0; i < 37; i++) {
    const t = 10 + i * 10;
    const span = rec.upstream(root, '@opentelemetry/instrumentation-amqplib', {
      name: 'publish',
      host: 'mq',
      port: 5672,
      start: t,
      end: t + 5,
      kind: SpanKind.PRODUCER,
    });
    rec.exchange(span, { ...amqp, operation: 'basic.publish', phase: 'operation', start: t + 1, end: t + 2 });
  }
  rec.exchange(root, { ...amqp, operation: 'queue.declare', phase: 'operation', start: 500, end: 503 });
  rec.exchange(root, { ...amqp, operation: 'basic.get', phase: 'operation', start: 510, end: 511 });
  rec.exchange(root, { ...amqp, operation: 'basic.get', phase: 'operation', start: 520, end: 521 });
  rec.exchange(root, { ...amqp, operation: '_OTHER', phase: 'operation', start: 530, end: 531 });
  rec.exchange(root, { ...amqp, operation: 'heartbeat', phase: 'heartbeat', start: 540, end: 540.5 });
  const [row] = analyzeGaps(spansOf(rec)).rows;
  assert.equal(row.verdict, 'partly-covered');
  assert.deepEqual([row.operations, row.operationsCovered, row.operationsUncovered], [41, 37, 4]);
  assert.deepEqual([row.exchanges, row.covered, row.uncovered], [44, 37, 7]);
  assert.deepEqual(row.uncoveredOperationNames, ['basic.get', 'queue.declare'], '_OTHER is never listed');
  assert.equal(row.uncoveredOperationTimeMs, 6);
  assert.deepEqual(row.phases.heartbeat, { exchanges: 1, covered: 0, uncovered: 1 });
  assert.equal(
    row.suggestion,
    'partly covered by `@opentelemetry/instrumentation-amqplib`: 4 of 41 operations (`basic.get`, `queue.declare`) have no span',
  );
});

test('exchanges without a phase (older files, unrecognised bytes) count as operations', () => {
  const rec = new Recorder();
  const root = rec.root('job');
  rec.exchange(root, { caller: '(app)', host: 'svc', port: 7000, start: 0, end: 2 });
  rec.exchange(root, { protocol: 'mqtt', operation: 'PUBLISH', caller: 'mqtt', start: 0, end: 1 });
  const rows = analyzeGaps(spansOf(rec)).rows;
  for (const r of rows) {
    assert.deepEqual([r.operations, r.operationsUncovered, r.verdict], [1, 1, 'uncovered'], r.protocol);
    assert.deepEqual(r.phases.operation, { exchanges: 1, covered: 0, uncovered: 1 });
  }
});

test('an uncovered operation outranks any amount of uncovered chatter, whatever its time', () => {
  const rec = new Recorder();
  const root = rec.root('job');
  // A slow, uncovered pg STARTUP (chatter) and a quick uncovered mqtt PUBLISH (an operation).
  rec.exchange(root, { protocol: 'postgresql', operation: 'STARTUP', phase: 'setup', start: 0, end: 900 });
  rec.exchange(root, {
    protocol: 'mqtt',
    operation: 'PUBLISH',
    phase: 'operation',
    caller: 'mqtt',
    host: 'broker',
    port: 1883,
    start: 0,
    end: 1,
  });
  const rows = analyzeGaps(spansOf(rec)).rows;
  assert.deepEqual(
    rows.map((r) => [r.callerPackage, r.verdict]),
    [
      ['mqtt', 'uncovered'],
      ['pg', 'covered'],
    ],
  );
  assert.equal(rows[1].suggestion, 'no operations; 1 setup exchange has no span (normal)');
});

test('--rtt projects the uncovered time: each uncovered exchange is one round trip more', () => {
  const result = analyzeGaps(spansOf(sampleService()), { rttMs: 2 });
  assert.equal(result.rttMs, 2);
  const [mqtt, redis] = result.rows;
  assert.equal(mqtt.projectedUncoveredTimeMs, 64);
  assert.equal(mqtt.projectedUncoveredOperationTimeMs, 64);
  assert.equal(redis.projectedUncoveredTimeMs, 0);
  assert.equal(analyzeGaps(spansOf(sampleService())).rows[0].projectedUncoveredTimeMs, undefined);
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
  assert.deepEqual([totals.exchanges, totals.covered, totals.uncovered, totals.operations], [1, 0, 1, 1]);
  assert.equal(rows[0].protocol, 'http2');
  assert.equal(rows[0].suggestion, SUGGEST_NONE_HTTP2);
});

test('HTTP/2 exchange spans (http, version 2) make an http2 row, told apart from HTTP/1.1', () => {
  const rec = new Recorder();
  const root = rec.root('job');
  const api = { protocol: 'http', operation: 'GET', caller: '(app)', host: 'api', port: 8443 };
  rec.exchange(root, { ...api, version: '2', phase: 'operation', start: 0, end: 3 });
  rec.exchange(root, { ...api, version: '1.1', phase: 'operation', start: 5, end: 7 });
  const rows = analyzeGaps(spansOf(rec)).rows;
  assert.deepEqual(
    rows.map((r) => [r.protocol, r.suggestion]),
    [
      ['http2', SUGGEST_NONE_HTTP2],
      ['http', 'enable `@opentelemetry/instrumentation-http`'],
    ],
  );
});

test('spans with no sockscope exchanges give no rows and zero totals', () => {
  const rec = new Recorder();
  rec.upstream(rec.root('job'), '@opentelemetry/instrumentation-pg', { start: 0, end: 1 });
  const { rows, totals } = analyzeGaps(spansOf(rec));
  assert.deepEqual(rows, []);
  assert.deepEqual(
    [totals.exchanges, totals.covered, totals.uncovered, totals.operations, totals.operationsUncovered],
    [0, 0, 0, 0, 0],
  );
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

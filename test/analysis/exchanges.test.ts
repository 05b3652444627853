import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanKind } from '@opentelemetry/api';
import { CoverageTracker, classifyExchanges, type ExchangeVerdict } from '../../src/analysis/exchanges';
import type { TraceSpan } from '../../src/analysis/model';
import { parseTraceText } from '../../src/analysis/read';
import { Recorder, otlpJson } from './helpers';

function spansOf(rec: Recorder): TraceSpan[] {
  return parseTraceText(otlpJson(rec.finished()), 'mem');
}

test('an exchange whose parent is an upstream CLIENT span is covered by the parent rule', () => {
  const rec = new Recorder();
  const root = rec.root('job');
  const get = rec.upstream(root, '@opentelemetry/instrumentation-redis', {
    name: 'redis-GET',
    start: 10,
    end: 20,
  });
  rec.exchange(get, { protocol: 'redis', caller: 'redis', host: 'cache', port: 6379, start: 11, end: 19 });
  const [v] = classifyExchanges(spansOf(rec));
  assert.equal(v.covered, true);
  assert.equal(v.rule, 'parent');
  assert.equal(v.coveredBy, '@opentelemetry/instrumentation-redis');
});

test('an upstream PRODUCER parent covers too', () => {
  const rec = new Recorder();
  const pub = rec.upstream(undefined, '@opentelemetry/instrumentation-amqplib', {
    name: 'orders publish',
    kind: SpanKind.PRODUCER,
    start: 0,
    end: 5,
  });
  rec.exchange(pub, { protocol: 'amqp', caller: 'amqplib', host: 'mq', port: 5672, start: 1, end: 2 });
  assert.equal(classifyExchanges(spansOf(rec))[0].coveredBy, '@opentelemetry/instrumentation-amqplib');
});

test('an upstream sibling naming the same server and overlapping in time covers by the sibling rule', () => {
  const rec = new Recorder();
  const root = rec.root('job');
  rec.upstream(root, '@opentelemetry/instrumentation-pg', {
    host: 'db.internal',
    port: 5432,
    start: 10,
    end: 30,
  });
  rec.exchange(root, { protocol: 'postgresql', host: 'db.internal', port: 5432, start: 12, end: 35 });
  const [v] = classifyExchanges(spansOf(rec));
  assert.equal(v.covered, true);
  assert.equal(v.rule, 'sibling');
  assert.equal(v.coveredBy, '@opentelemetry/instrumentation-pg');
});

test('a sibling naming another server, or not overlapping, does not cover', () => {
  const rec = new Recorder();
  const root = rec.root('job');
  rec.upstream(root, '@opentelemetry/instrumentation-pg', {
    host: 'other-db',
    port: 5432,
    start: 10,
    end: 30,
  });
  rec.upstream(root, '@opentelemetry/instrumentation-pg', {
    host: 'db.internal',
    port: 5432,
    start: 40,
    end: 50,
  });
  rec.exchange(root, { protocol: 'postgresql', host: 'db.internal', port: 5432, start: 12, end: 20 });
  assert.equal(classifyExchanges(spansOf(rec))[0].covered, false);
});

test('a sibling naming no server covers only when it is the one upstream client span open there', () => {
  const one = new Recorder();
  const r1 = one.root('job');
  one.upstream(r1, 'custom-client', { start: 0, end: 30 });
  one.exchange(r1, { start: 5, end: 10 });
  assert.equal(classifyExchanges(spansOf(one))[0].coveredBy, 'custom-client');

  const two = new Recorder();
  const r2 = two.root('job');
  two.upstream(r2, 'custom-client', { start: 0, end: 30 });
  two.upstream(r2, 'custom-client', { start: 2, end: 30 });
  two.exchange(r2, { start: 5, end: 10 });
  assert.equal(classifyExchanges(spansOf(two))[0].covered, false);
});

test('coverage is recomputed from the trace, whatever sockscope.covered was recorded', () => {
  const rec = new Recorder();
  const root = rec.root('job');
  rec.exchange(root, { caller: 'mqtt', protocol: 'mqtt', start: 1, end: 2, covered: true });
  rec.upstream(root, '@opentelemetry/instrumentation-pg', {
    host: 'db.internal',
    port: 5432,
    start: 10,
    end: 30,
  });
  rec.exchange(root, { protocol: 'postgresql', start: 12, end: 20, covered: false });
  const vs = classifyExchanges(spansOf(rec));
  assert.deepEqual(
    vs.map((v) => v.covered),
    [false, true],
  );
});

test('an exchange whose parent span is absent from the data gets the sibling rule only', () => {
  const rec = new Recorder();
  const root = rec.root('job');
  const pgSpan = rec.upstream(root, '@opentelemetry/instrumentation-pg', {
    host: 'db.internal',
    port: 5432,
    start: 10,
    end: 30,
  });
  rec.upstream(pgSpan, '@opentelemetry/instrumentation-pg', {
    host: 'db.internal',
    port: 5432,
    start: 10,
    end: 30,
  });
  rec.exchange(pgSpan, { protocol: 'postgresql', start: 12, end: 20 });
  // Drop the parent: the exchange is still covered by the pg span beside it.
  const spans = spansOf(rec).filter((s) => s.spanId !== pgSpan.spanContext().spanId);
  const [v] = classifyExchanges(spans);
  assert.equal(v.covered, true);
  assert.equal(v.rule, 'sibling');
});

test("instrumentation-net's tcp.connect spans neither cover an exchange nor count as one", () => {
  const rec = new Recorder();
  const root = rec.root('job');
  // instrumentation-net makes INTERNAL spans today; a CLIENT one must not cover either.
  rec.upstream(root, '@opentelemetry/instrumentation-net', {
    name: 'tcp.connect',
    host: 'db.internal',
    port: 5432,
    kind: SpanKind.CLIENT,
    start: 0,
    end: 50,
    attributes: { 'net.peer.name': 'db.internal', 'net.peer.port': 5432 },
  });
  rec.exchange(root, { protocol: 'postgresql', start: 12, end: 20 });
  const spans = spansOf(rec);
  const vs = classifyExchanges(spans);
  assert.equal(vs.length, 1);
  assert.equal(vs[0].covered, false);
  // Same when the format lost the scope (Zipkin): recognised by name.
  for (const s of spans) if (s.name === 'tcp.connect') s.scope = undefined;
  assert.equal(classifyExchanges(spans)[0].covered, false);
});

test('sockscope connection spans are not exchanges and do not cover', () => {
  const rec = new Recorder();
  const root = rec.root('job');
  rec.span('sockscope', 'tcp connect', {
    parent: root,
    kind: SpanKind.CLIENT,
    start: 0,
    end: 50,
    attributes: { 'sockscope.kind': 'connection', 'server.address': 'db.internal', 'server.port': 5432 },
  });
  rec.exchange(root, { protocol: 'postgresql', start: 12, end: 20 });
  const vs = classifyExchanges(spansOf(rec));
  assert.equal(vs.length, 1);
  assert.equal(vs[0].covered, false);
});

test('a span seen twice (Jaeger duplicates, export retries) is counted once', () => {
  const rec = new Recorder();
  rec.exchange(rec.root('job'), { start: 1, end: 2 });
  const spans = spansOf(rec);
  assert.equal(classifyExchanges([...spans, ...spans]).length, 1);
});

test('with a small backlog limit, covering spans arriving a few batches later still count', () => {
  const rec = new Recorder();
  const root = rec.root('job', 0, 100_000);
  for (let i = 0; i < 50; i++) {
    rec.exchange(root, { protocol: 'postgresql', start: i * 100 + 1, end: i * 100 + 5 });
    rec.upstream(root, '@opentelemetry/instrumentation-pg', {
      host: 'db.internal',
      port: 5432,
      start: i * 100,
      end: i * 100 + 6,
    });
  }
  const spans = spansOf(rec);
  const exchanges = spans.filter((s) => s.scope === 'sockscope');
  const upstream = spans.filter((s) => s.scope === '@opentelemetry/instrumentation-pg');
  const verdicts: Array<ExchangeVerdict<null>> = [];
  const tracker = new CoverageTracker<null>({
    keep: () => null,
    onVerdict: (v) => verdicts.push(v),
    maxPending: 5,
    horizonMs: 1000,
  });
  // Exchanges arrive in batches of 5 and their covering spans one batch later.
  for (let b = 0; b < 10; b++) {
    for (const s of exchanges.slice(b * 5, b * 5 + 5)) tracker.add(s);
    if (b > 0) for (const s of upstream.slice((b - 1) * 5, b * 5)) tracker.add(s);
    tracker.endBatch();
  }
  for (const s of upstream.slice(45)) tracker.add(s);
  tracker.finish();
  assert.equal(verdicts.length, 50);
  assert.equal(verdicts.filter((v) => v.covered).length, 50);
});

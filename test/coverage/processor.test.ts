import assert from 'node:assert/strict';
import { SpanKind, context, trace } from '@opentelemetry/api';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { test } from 'node:test';
import { SiblingCoverage, SocketCoverageProcessor, siblingCoverAtEnd } from '../../src/coverage/processor';

const IOREDIS = '@opentelemetry/instrumentation-ioredis';

function setup() {
  // Its own set of processors, handed in: the sibling rule sees this one only.
  const coverage = new SiblingCoverage();
  const processor = new SocketCoverageProcessor(coverage);
  const siblingsAtStart = coverage.siblingsAtStart.bind(coverage);
  const provider = new TracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer(IOREDIS);
  const parent = provider.getTracer('app').startSpan('request');
  const ctx = trace.setSpan(context.active(), parent);
  const now = () => performance.timeOrigin + performance.now();
  const exchange = (servers: string[]) => ({
    parentSpanId: parent.spanContext().spanId,
    startMs: now(),
    endMs: now(),
    servers,
  });
  return { processor, tracer, parent, ctx, exchange, siblingsAtStart };
}

test('the coverage processor keeps only the upstream client spans open now, and forgets each as it ends', async () => {
  const { processor, tracer, parent, ctx } = setup();
  const parentId = parent.spanContext().spanId;
  // A loop of 3,000 calls under one request leaves nothing behind.
  for (let i = 0; i < 3000; i++) {
    tracer
      .startSpan(
        'get',
        { kind: SpanKind.CLIENT, attributes: { 'server.address': 'cache', 'server.port': 6379 } },
        ctx,
      )
      .end();
  }
  assert.equal(processor.openUnder(parentId), undefined);
  const open = tracer.startSpan('get', { kind: SpanKind.CLIENT }, ctx);
  tracer.startSpan('internal', { kind: SpanKind.INTERNAL }, ctx).end(); // never a candidate
  const internalOpen = tracer.startSpan('internal', { kind: SpanKind.INTERNAL }, ctx);
  assert.equal(processor.openUnder(parentId)?.size, 1, 'only the client span still open');
  assert.equal(processor.openUnder('elsewhere'), undefined);
  open.end();
  internalOpen.end();
  assert.equal(processor.openUnder(parentId), undefined);
  tracer.startSpan('get', { kind: SpanKind.CLIENT }, ctx);
  parent.end();
  await processor.shutdown();
  assert.equal(processor.openUnder(parentId), undefined, 'shutdown forgets open spans too');
});

test('an exchange written while a named sibling is open is covered at its start', async () => {
  const { processor, tracer, ctx, exchange, siblingsAtStart } = setup();
  const span = tracer.startSpan(
    'get',
    { kind: SpanKind.CLIENT, attributes: { 'server.address': '127.0.0.1', 'server.port': 6379 } },
    ctx,
  );
  assert.equal(siblingsAtStart(exchange(['127.0.0.1:6379'])), IOREDIS);
  assert.notEqual(siblingsAtStart(exchange(['10.0.0.9:6379'])), IOREDIS, 'another server is not covered');
  span.end();
  assert.equal(siblingsAtStart(exchange(['127.0.0.1:6379'])), undefined, 'ended before it: cannot cover');
  await processor.shutdown();
});

test('a sibling that names its server only after the write is matched when the exchange ends', async () => {
  const { processor, tracer, ctx, exchange, siblingsAtStart } = setup();
  const span = tracer.startSpan('query', { kind: SpanKind.CLIENT }, ctx);
  const other = tracer.startSpan('query', { kind: SpanKind.CLIENT }, ctx);
  const ex = exchange(['db:5432']);
  const kept = siblingsAtStart(ex);
  // Two unnamed open spans: neither can be trusted yet, both are kept for the end.
  assert.ok(Array.isArray(kept) && kept.length === 2);
  span.setAttribute('server.address', 'db');
  span.end();
  other.end();
  assert.equal(siblingCoverAtEnd(ex, kept), IOREDIS);
  await processor.shutdown();
});

test('a sibling naming the server by another name at the start, and its address later, is matched at the end', async () => {
  const { processor, tracer, ctx, exchange, siblingsAtStart } = setup();
  const span = tracer.startSpan(
    'get',
    { kind: SpanKind.CLIENT, attributes: { 'server.address': 'cache.internal', 'server.port': 6379 } },
    ctx,
  );
  const ex = exchange(['127.0.0.1:6379']);
  const kept = siblingsAtStart(ex);
  assert.ok(Array.isArray(kept), 'not covered yet: the names differ');
  span.setAttributes({ 'network.peer.address': '127.0.0.1', 'network.peer.port': 6379 });
  span.end();
  assert.equal(siblingCoverAtEnd(ex, kept), IOREDIS);
  await processor.shutdown();
});

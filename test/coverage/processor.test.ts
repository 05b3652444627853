import assert from 'node:assert/strict';
import { SpanKind, context, trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { test } from 'node:test';
import { SocketCoverageProcessor } from '../../src/coverage/processor';

test('the coverage processor offers an exchange only the upstream spans open now or ended after it began', async () => {
  const processor = new SocketCoverageProcessor();
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('@opentelemetry/instrumentation-ioredis');
  const parent = provider.getTracer('app').startSpan('request');
  const ctx = trace.setSpan(context.active(), parent);
  const parentId = parent.spanContext().spanId;
  // A loop of 3,000 calls under one request: the lookup must not grow with them.
  for (let i = 0; i < 3000; i++) {
    tracer
      .startSpan(
        'get',
        { kind: SpanKind.CLIENT, attributes: { 'server.address': 'cache', 'server.port': 6379 } },
        ctx,
      )
      .end();
  }
  const afterLoop = performance.timeOrigin + performance.now();
  const open = tracer.startSpan('get', { kind: SpanKind.CLIENT }, ctx);
  tracer.startSpan('internal', { kind: SpanKind.INTERNAL }, ctx).end(); // never a candidate
  assert.equal(processor.candidates(parentId, afterLoop).length, 1, 'only the span still open');
  assert.equal(
    processor.candidates(parentId, 0).length,
    3001,
    'all of them for an exchange that began before',
  );
  // Memory is bounded: past 4,096 retained ended spans the oldest are forgotten.
  for (let i = 0; i < 3000; i++) tracer.startSpan('get', { kind: SpanKind.CLIENT }, ctx).end();
  assert.equal(processor.candidates(parentId, 0).length, 4096 + 1);
  assert.equal(processor.candidates('elsewhere', 0).length, 0);
  open.end();
  parent.end();
  await processor.shutdown();
  assert.equal(processor.candidates(parentId, 0).length, 0);
});

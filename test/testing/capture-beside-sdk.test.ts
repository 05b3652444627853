/** captureNetwork beside an app's own SDK and SocketInstrumentation. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { context, trace, type Attributes, type Context, type Link, type SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  InMemorySpanExporter,
  SamplingDecision,
  SimpleSpanProcessor,
  TracerProvider,
  type Sampler,
  type SamplingResult,
} from '@opentelemetry/sdk-trace';
import Redis from 'ioredis';
import { SocketInstrumentation } from '../../src/tap/instrumentation';
import { captureNetwork } from '../../src/testing/index';
import { requireService } from '../helpers/services';

/** The app's sampler: records everything, or nothing, as the test says. */
let appSamples = true;
const sampler: Sampler = {
  shouldSample(
    _c: Context,
    _t: string,
    _n: string,
    _k: SpanKind,
    _a: Attributes,
    _l: Link[],
  ): SamplingResult {
    return { decision: appSamples ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD };
  },
  toString: () => 'test sampler',
};
const appExporter = new InMemorySpanExporter();
const appProvider = new TracerProvider({
  sampler,
  spanProcessors: [new SimpleSpanProcessor({ exporter: appExporter })],
});
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(appProvider);
const sockscope = new SocketInstrumentation();
sockscope.setTracerProvider(appProvider);

const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
after(() => {
  redis.disconnect();
  sockscope.disable();
});

const appExchanges = (): string[] =>
  appExporter
    .getFinishedSpans()
    .filter(
      (s) => s.attributes['sockscope.kind'] === 'exchange' && s.attributes['sockscope.phase'] === 'operation',
    )
    .map((s) => s.name);

test('beside an app SDK, the app still exports its exchange spans and the capture sees the same ones, with no second registration', async (t) => {
  if (!(await requireService(t, 'Redis', '127.0.0.1', 6379))) return;
  await redis.connect();
  appExporter.reset();
  appSamples = true;
  const providerBefore = trace.getTracerProvider();
  const { network } = await captureNetwork(async () => {
    await redis.set('sockscope:test:beside', 'x');
    await redis.get('sockscope:test:beside');
  });
  assert.deepEqual(
    network.counts.map((c) => `${c.operation} ${c.count}`),
    ['redis GET 1', 'redis SET 1'],
  );
  assert.deepEqual(appExchanges().sort(), ['redis GET', 'redis SET']);
  assert.equal(trace.getTracerProvider(), providerBefore, 'the global provider is untouched');

  // Outside a capture, the app gets its spans as before and nothing is captured.
  appExporter.reset();
  await redis.get('sockscope:test:beside');
  assert.deepEqual(appExchanges(), ['redis GET']);
});

test('a capture sees its exchanges even when the app samples nothing, and the app gets none of them', async (t) => {
  if (!(await requireService(t, 'Redis', '127.0.0.1', 6379))) return;
  appExporter.reset();
  appSamples = false;
  try {
    const { network } = await captureNetwork(async () => {
      await trace.getTracer('app').startActiveSpan('unsampled request', async (span) => {
        await redis.get('sockscope:test:beside');
        await redis.get('sockscope:test:beside');
        span.end();
      });
    });
    assert.deepEqual(
      network.counts.map((c) => `${c.operation} ${c.count}`),
      ['redis GET 2'],
    );
    assert.deepEqual(appExporter.getFinishedSpans(), []);
  } finally {
    appSamples = true;
  }
});

test('two captures running concurrently each see only their own exchanges', async (t) => {
  if (!(await requireService(t, 'Redis', '127.0.0.1', 6379))) return;
  // Both share one Redis connection, so their commands interleave on the same socket.
  const [a, b] = await Promise.all([
    captureNetwork(async () => {
      for (let i = 0; i < 3; i++) await redis.get('sockscope:test:a');
    }),
    captureNetwork(async () => {
      for (let i = 0; i < 2; i++) await redis.set('sockscope:test:b', String(i));
      await redis.incr('sockscope:test:n');
    }),
  ]);
  assert.deepEqual(
    a.network.counts.map((c) => `${c.operation} ${c.count}`),
    ['redis GET 3'],
  );
  assert.deepEqual(
    b.network.counts.map((c) => `${c.operation} ${c.count}`),
    ['redis INCR 1', 'redis SET 2'],
  );
});

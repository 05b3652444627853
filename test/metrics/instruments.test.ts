/**
 * sockscope's metrics against real Redis (ioredis) and a real refused port: every exchange is
 * counted whatever the spans do, with the coverage verdict where it could be decided.
 */
import { ROOT_CONTEXT, TraceFlags, context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { test } from 'node:test';
import { SocketCoverageProcessor } from '../../src/coverage/processor';
import { SocketInstrumentation } from '../../src/tap/instrumentation';
import { requireService } from '../helpers/services';
import { meterProvider, total } from './helpers';

const spans = new InMemorySpanExporter();
const tracerProvider = new TracerProvider({
  spanProcessors: [new SocketCoverageProcessor(), new SimpleSpanProcessor({ exporter: spans })],
});
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(tracerProvider);

const meters = meterProvider();
const instrumentation = new SocketInstrumentation({ exchanges: 'none' });
instrumentation.setTracerProvider(tracerProvider);
instrumentation.setMeterProvider(meters.provider);

const unsampled = trace.setSpanContext(ROOT_CONTEXT, {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.NONE,
});

async function redisPings(n: number, ctx = context.active()): Promise<void> {
  const { default: Redis } = await import('ioredis');
  const c = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, enableReadyCheck: false });
  await context.with(ctx, async () => {
    await c.connect();
    for (let i = 0; i < n; i++) await c.ping();
    await c.quit();
  });
}

const REDIS = { 'network.protocol.name': 'redis', 'server.address': '127.0.0.1', 'server.port': 6379 };

test("every exchange is counted with exchanges:'none', unsampled ones as covered=unknown", async (t) => {
  if (!(await requireService(t, 'redis', '127.0.0.1', 6379))) return;
  const before = await meters.collect();
  const ping = { ...REDIS, 'sockscope.operation': 'PING' };
  const pingsBefore = total(before, 'sockscope.exchanges', ping);
  await redisPings(7, unsampled);
  await redisPings(5, ROOT_CONTEXT);
  const after = await meters.collect();
  assert.equal(total(after, 'sockscope.exchanges', ping) - pingsBefore, 12);
  assert.equal(
    total(after, 'sockscope.exchanges', { ...ping, 'sockscope.covered': 'unknown' }) -
      total(before, 'sockscope.exchanges', { ...ping, 'sockscope.covered': 'unknown' }),
    7,
    'the unsampled trace has no visible upstream spans: undecided',
  );
  assert.equal(
    total(after, 'sockscope.exchanges', { ...ping, 'sockscope.covered': 'false' }) -
      total(before, 'sockscope.exchanges', { ...ping, 'sockscope.covered': 'false' }),
    5,
  );
  const row = after.find(
    (p) => p.name === 'sockscope.exchanges' && p.attributes['sockscope.operation'] === 'PING',
  );
  assert.equal(row?.attributes['sockscope.caller.package'], 'ioredis');
  assert.equal(
    row?.attributes['sockscope.phase'],
    'heartbeat',
    "Redis PING is a liveness probe: the 'heartbeat' phase",
  );
  // QUIT ends each connection: teardown, counted beside the operations.
  assert.ok(total(after, 'sockscope.exchanges', { ...REDIS, 'sockscope.phase': 'teardown' }) >= 2);
  const pingDurations =
    total(after, 'sockscope.exchange.duration', ping) - total(before, 'sockscope.exchange.duration', ping);
  assert.equal(pingDurations, 12, 'one duration per exchange in the histogram');
  const sent = total(after, 'sockscope.io', { ...ping, 'network.io.direction': 'transmit' });
  const received = total(after, 'sockscope.io', { ...ping, 'network.io.direction': 'receive' });
  assert.equal(sent, 14 * 12, 'PING is 14 bytes on the wire');
  assert.equal(received, 7 * 12, '+PONG is 7 bytes');
  assert.equal(
    spans.getFinishedSpans().filter((s) => s.attributes['sockscope.kind'] === 'exchange').length,
    0,
  );
});

test('open connections go up while a socket is open and back down when it closes', async (t) => {
  if (!(await requireService(t, 'redis', '127.0.0.1', 6379))) return;
  const s = net.connect({ host: '127.0.0.1', port: 6379 });
  await new Promise((r) => s.once('connect', r));
  const open = total(await meters.collect(), 'sockscope.connection.count', { 'server.port': 6379 });
  assert.equal(open, 1);
  const closed = new Promise((r) => s.once('close', r));
  s.end();
  await closed;
  const after = await meters.collect();
  assert.equal(total(after, 'sockscope.connection.count', { 'server.port': 6379 }), 0);
  assert.ok(total(after, 'sockscope.connection.duration', { 'server.port': 6379 }) >= 1);
});

test('a refused connect counts as a connect failure by error.type', async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  const s = net.connect({ host: '127.0.0.1', port });
  await new Promise((r) => s.once('error', r));
  const points = await meters.collect();
  assert.equal(
    total(points, 'sockscope.connection.failures', { 'server.port': port, 'error.type': 'ECONNREFUSED' }),
    1,
  );
  assert.equal(total(points, 'sockscope.connection.count', { 'server.port': port }), 0);
});

test('metrics: false records nothing, and turning it back on resumes counting', async (t) => {
  if (!(await requireService(t, 'redis', '127.0.0.1', 6379))) return;
  const ping = { ...REDIS, 'sockscope.operation': 'PING' };
  const before = total(await meters.collect(), 'sockscope.exchanges', ping);
  instrumentation.setConfig({ exchanges: 'none', metrics: false });
  await redisPings(3);
  assert.equal(total(await meters.collect(), 'sockscope.exchanges', ping), before);
  instrumentation.setConfig({ exchanges: 'none' });
  await redisPings(2);
  assert.equal(total(await meters.collect(), 'sockscope.exchanges', ping), before + 2);
});

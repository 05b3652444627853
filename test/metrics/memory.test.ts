/**
 * Metrics keep a bounded number of series whatever the traffic: 1e6 exchanges over 1e4 sockets
 * that come and go leave the same series as the first thousand, and the open-connection count
 * returns to zero. Counts series and points, never time.
 *
 * The sockets are real TCP connections to a local server, and every request is really written;
 * each response is handed to the socket's `push()`, as Node's `onStreamRead` hands it the bytes it
 * reads, so that a million round trips do not wait for the kernel a million times.
 */
import { ROOT_CONTEXT, TraceFlags, context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { test } from 'node:test';
import { SocketCoverageProcessor } from '../../src/coverage/processor';
import { MAX_CALLERS, MAX_GROUPS, MAX_SERVERS, MetricCells } from '../../src/metrics/cells';
import { SocketInstrumentation } from '../../src/tap/instrumentation';
import { meterProvider, total, type Point } from './helpers';

const tracerProvider = new TracerProvider({ spanProcessors: [new SocketCoverageProcessor()] });
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const meters = meterProvider();
const instrumentation = new SocketInstrumentation({ exchanges: 'none' });
instrumentation.setTracerProvider(tracerProvider);
instrumentation.setMeterProvider(meters.provider);

const REQUEST = Buffer.from('*1\r\n$4\r\nPING\r\n');
const RESPONSE = Buffer.from('+PONG\r\n');

const unsampled = trace.setSpanContext(ROOT_CONTEXT, {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.NONE,
});

function seriesCount(points: Point[]): number {
  return points.length;
}

async function socketLife(port: number, exchanges: number): Promise<void> {
  const s = net.connect({ host: '127.0.0.1', port });
  s.on('data', () => undefined);
  await new Promise((r) => s.once('connect', r));
  for (let i = 0; i < exchanges; i++) {
    s.write(REQUEST);
    s.push(RESPONSE);
  }
  const closed = new Promise((r) => s.once('close', r));
  s.destroy();
  await closed;
}

test('1e6 exchanges over 1e4 sockets that come and go keep the same series, and open connections return to 0', async () => {
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    s.resume();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const SOCKETS = 10_000;
  const PER_SOCKET = 100;
  const CONCURRENT = 20;
  let afterWarmup: number | undefined;
  await context.with(unsampled, async () => {
    for (let done = 0; done < SOCKETS; done += CONCURRENT) {
      await Promise.all(Array.from({ length: CONCURRENT }, () => socketLife(port, PER_SOCKET)));
      if (done === 1000) afterWarmup = seriesCount(await meters.collect());
    }
  });
  await new Promise<void>((r) => server.close(() => r()));
  const points = await meters.collect();
  assert.equal(total(points, 'sockscope.exchanges', { 'server.port': port }), SOCKETS * PER_SOCKET);
  assert.equal(seriesCount(points), afterWarmup, 'no series was added after the first thousand sockets');
  assert.equal(total(points, 'sockscope.connection.count', { 'server.port': port }), 0);
  const sampled = total(points, 'sockscope.exchange.duration', { 'server.port': port });
  assert.ok(sampled <= 1024 * 2, `the histogram got a bounded sample per collection (${sampled})`);
});

test('past their bounds, servers and callers fold into _OTHER and groups into one overflow series', () => {
  const cells = new MetricCells();
  for (let i = 0; i < MAX_GROUPS * 3; i++) {
    const peer = {
      transport: 'tcp' as const,
      host: `10.0.${i >> 8}.${i & 255}`,
      port: 5432,
      callerPackage: `pkg-${i}`,
    };
    cells.group(peer, 'postgresql').cell('SELECT', 'operation', 'false', undefined).count++;
    cells.connection(peer).open++;
  }
  const size = cells.size();
  assert.ok(size.groups <= MAX_GROUPS + 1, `groups ${size.groups}`);
  assert.ok(size.exchangeCells <= MAX_GROUPS + 1, `exchange cells ${size.exchangeCells}`);
  assert.ok(size.connectionCells <= MAX_GROUPS + 1, `connection cells ${size.connectionCells}`);
  const attrs = cells.exchangeCells.map((c) => c.attributes);
  assert.ok(attrs.some((a) => a['server.address'] === '_OTHER' && a['server.port'] === undefined));
  assert.ok(attrs.some((a) => a['sockscope.caller.package'] === '_OTHER'));
  const servers = new Set(attrs.map((a) => a['server.address']));
  const callers = new Set(attrs.map((a) => a['sockscope.caller.package']));
  assert.ok(servers.size <= MAX_SERVERS + 2, `servers ${servers.size}`);
  assert.ok(callers.size <= MAX_CALLERS + 2, `callers ${callers.size}`);
  const total = cells.exchangeCells.reduce((a, c) => a + c.count, 0);
  assert.equal(total, MAX_GROUPS * 3, 'nothing is dropped: every exchange is counted somewhere');
});

import assert from 'node:assert/strict';
import * as net from 'node:net';
import { ROOT_CONTEXT, TraceFlags, context, trace } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import { after, beforeEach, test } from 'node:test';
import { configure, inSpan, parentId, reset, sockscopeSpans, tracer, waitFor } from '../helpers/otel';
import { connect, roundTrip, startEcho, startServer } from '../helpers/servers';
import { requireService } from '../helpers/services';

beforeEach(() => {
  configure();
  reset();
});

const ms = (t: [number, number]) => hrTimeToMilliseconds(t);

test('an exchange is parented to the context at its first write, not the one at connect', async () => {
  const peer = await startEcho();
  after(() => peer.close());
  const s = await inSpan('connecting', () => connect(peer.port));
  await inSpan('writer', async (writer) => {
    await roundTrip(s, 'abc');
    s.destroy();
    await waitFor(() => sockscopeSpans('exchange').length === 1);
    assert.equal(parentId(sockscopeSpans('exchange')[0]), writer.spanContext().spanId);
  });
});

test('writes queued while connecting are parented to the writer, and the exchange links to its connection', async () => {
  const peer = await startEcho();
  after(() => peer.close());
  await inSpan('writer', async (writer) => {
    const s = net.connect(peer.port, '127.0.0.1');
    const got = new Promise((r) => s.once('data', r));
    s.write('early');
    await got;
    s.destroy();
    await waitFor(() => sockscopeSpans('connection').length === 1);
    const [e] = sockscopeSpans('exchange');
    const [c] = sockscopeSpans('connection');
    assert.equal(parentId(e), writer.spanContext().spanId);
    assert.equal(e.links.length, 1);
    assert.equal(e.links[0].context.spanId, c.spanContext().spanId);
  });
});

test('bytes received with no preceding write open no exchange and count on the connection', async () => {
  const peer = await startServer((s) => s.write('server hello\n'));
  after(() => peer.close());
  const s = net.connect(peer.port, '127.0.0.1');
  await new Promise((r) => s.once('data', r));
  s.destroy();
  await waitFor(() => sockscopeSpans('connection').length === 1);
  assert.equal(sockscopeSpans('exchange').length, 0);
  assert.equal(sockscopeSpans('connection')[0].attributes['sockscope.bytes_received'], 13);
  assert.equal(sockscopeSpans('connection')[0].attributes['sockscope.exchanges'], 0);
});

test('an idle-ended exchange is stamped with its last received byte, not with the idle timeout', async () => {
  // The answer comes in two chunks, the second only once the client has the first. The idle
  // timeout is long while they arrive (the exchange cannot end between them, however slow the
  // machine), then short, so that the sweeper ends it after the fact.
  configure({ exchangeIdleMs: 60_000 });
  let sendPart2: (() => void) | undefined;
  const peer = await startServer((s) =>
    s.on('data', () => {
      sendPart2 = () => s.write('part2');
      s.write('part1');
    }),
  );
  after(() => peer.close());
  const s = await connect(peer.port);
  const seen: number[] = [];
  const both = new Promise<void>((resolve) =>
    s.on('data', () => {
      seen.push(performance.timeOrigin + performance.now());
      if (seen.length === 1) sendPart2?.();
      else resolve();
    }),
  );
  s.write('go');
  await both;
  assert.equal(sockscopeSpans('exchange').length, 0, 'not ended between the chunks');
  configure({ exchangeIdleMs: 1 });
  await waitFor(() => sockscopeSpans('exchange').length === 1, 2000, 'idle end');
  const [e] = sockscopeSpans('exchange');
  assert.equal(seen.length, 2);
  // The end is taken as the second chunk is handed in, just before the app's 'data' handler runs.
  assert.ok(ms(e.endTime) > seen[0] && ms(e.endTime) <= seen[1], `${ms(e.endTime)} vs ${seen}`);
  assert.equal(e.attributes['sockscope.bytes_received'], 10);
  s.destroy();
});

test('corked writes and end(data) belong to the exchange they were written in', async () => {
  const peer = await startServer((s) => s.on('data', (d) => s.write(d)).on('end', () => s.end()));
  after(() => peer.close());
  const s = await connect(peer.port);
  s.cork();
  s.write('a1');
  s.write('b22');
  process.nextTick(() => s.uncork());
  await new Promise((r) => s.once('data', r));
  s.end('last');
  await new Promise((r) => s.once('close', r));
  await waitFor(() => sockscopeSpans('exchange').length === 2);
  const [first, second] = sockscopeSpans('exchange').sort((a, b) => ms(a.startTime) - ms(b.startTime));
  assert.equal(first.attributes['sockscope.bytes_sent'], 5);
  assert.equal(second.attributes['sockscope.bytes_sent'], 4);
});

test("exchanges: 'none' emits connection spans only, still counting exchanges", async () => {
  configure({ exchanges: 'none' });
  const peer = await startEcho();
  after(() => peer.close());
  const s = await connect(peer.port);
  await roundTrip(s, 'one');
  await roundTrip(s, 'two');
  s.destroy();
  await waitFor(() => sockscopeSpans('connection').length === 1);
  assert.equal(sockscopeSpans('exchange').length, 0);
  assert.equal(sockscopeSpans('connection')[0].attributes['sockscope.exchanges'], 2);
});

test('identical requests share a request hash, different ones do not, and no payload is recorded', async () => {
  const peer = await startEcho();
  after(() => peer.close());
  const s = await connect(peer.port);
  await roundTrip(s, 'GET user:42 password=hunter2');
  await roundTrip(s, 'GET user:42 password=hunter2');
  await roundTrip(s, 'GET user:43 password=hunter2');
  s.destroy();
  await waitFor(() => sockscopeSpans('exchange').length === 3);
  const ex = sockscopeSpans('exchange').sort((a, b) => ms(a.startTime) - ms(b.startTime));
  const hashes = ex.map((e) => e.attributes['sockscope.request.hash']);
  assert.match(String(hashes[0]), /^[0-9a-f]{16}$/);
  assert.equal(hashes[0], hashes[1]);
  assert.notEqual(hashes[0], hashes[2]);
  const dump = JSON.stringify(sockscopeSpans().map((e) => [e.name, e.attributes, e.events]));
  assert.ok(!dump.includes('hunter2') && !dump.includes('user:4'), dump);
});

test('hashRequests: false leaves the request hash out', async () => {
  configure({ hashRequests: false });
  const peer = await startEcho();
  after(() => peer.close());
  const s = await connect(peer.port);
  await roundTrip(s, 'x');
  s.destroy();
  await waitFor(() => sockscopeSpans('exchange').length === 1);
  assert.equal(sockscopeSpans('exchange')[0].attributes['sockscope.request.hash'], undefined);
});

test('an exchange under an unsampled parent is not emitted', async () => {
  const peer = await startEcho();
  after(() => peer.close());
  const s = await connect(peer.port);
  const unsampled = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: TraceFlags.NONE,
  });
  await context.with(unsampled, () => roundTrip(s, 'x'));
  await roundTrip(s, 'y'); // root, sampled
  s.destroy();
  await waitFor(() => sockscopeSpans('connection').length === 1);
  assert.equal(sockscopeSpans('exchange').length, 1);
  assert.equal(sockscopeSpans('connection')[0].attributes['sockscope.exchanges'], 2);
});

test('nothing is recorded for sockets connected or written in a suppressed context', async () => {
  const peer = await startEcho();
  after(() => peer.close());
  const quiet = suppressTracing(context.active());
  const s = await context.with(quiet, () => connect(peer.port));
  await roundTrip(s, 'x');
  s.destroy();
  const t = await connect(peer.port);
  await context.with(quiet, () => roundTrip(t, 'y'));
  t.destroy();
  await waitFor(() => sockscopeSpans('connection').length === 1);
  assert.equal(sockscopeSpans('exchange').length, 0);
});

test('two callers writing to one socket in turn get one exchange each, each under its own span', async () => {
  const peer = await startEcho();
  after(() => peer.close());
  const s = await connect(peer.port);
  const a = tracer.startSpan('a');
  const b = tracer.startSpan('b');
  await context.with(trace.setSpan(context.active(), a), () => roundTrip(s, 'from-a'));
  await context.with(trace.setSpan(context.active(), b), () => roundTrip(s, 'from-b'));
  a.end();
  b.end();
  s.destroy();
  await waitFor(() => sockscopeSpans('exchange').length === 2);
  const parents = sockscopeSpans('exchange').map(parentId).sort();
  assert.deepEqual(parents, [a.spanContext().spanId, b.spanContext().spanId].sort());
});

test('a request written a few bytes at a time is still recognised (detection accumulates small writes)', async (t) => {
  if (!(await requireService(t, 'Redis', '127.0.0.1', 6379))) return;
  const s = await connect(6379);
  const reply = new Promise<Buffer>((r) => s.once('data', r));
  for (const byte of Buffer.from('*1\r\n$4\r\nPING\r\n')) s.write(Buffer.from([byte]));
  assert.equal((await reply).toString(), '+PONG\r\n');
  s.destroy();
  await waitFor(() => sockscopeSpans('exchange').length === 1);
  const [e] = sockscopeSpans('exchange');
  assert.equal(e.name, 'redis PING');
  assert.equal(e.attributes['sockscope.bytes_sent'], 14);
});

test('Redis commands written as strings are named and framed from their bytes, ASCII or not, in either encoding', async (t) => {
  if (!(await requireService(t, 'Redis', '127.0.0.1', 6379))) return;
  const s = await connect(6379);
  const reply = () => new Promise((r) => s.once('data', r));
  const commands: Array<[string, BufferEncoding | undefined]> = [
    ['*3\r\n$3\r\nSET\r\n$14\r\nsockscope:test\r\n$5\r\nplain\r\n', undefined],
    ['*3\r\n$3\r\nSET\r\n$14\r\nsockscope:test\r\n$5\r\ncafé\r\n', 'utf8'],
    ['*3\r\n$3\r\nSET\r\n$14\r\nsockscope:test\r\n$4\r\ncafé\r\n', 'latin1'],
    ['*2\r\n$3\r\nDEL\r\n$14\r\nsockscope:test\r\n', undefined],
  ];
  for (const [cmd, encoding] of commands) {
    const got = reply();
    s.write(cmd, encoding);
    await got;
  }
  s.destroy();
  await waitFor(() => sockscopeSpans('exchange').length === 4);
  const exchanges = sockscopeSpans('exchange');
  assert.deepEqual(
    exchanges.map((e) => e.name),
    ['redis SET', 'redis SET', 'redis SET', 'redis DEL'],
  );
  assert.deepEqual(
    exchanges.map((e) => e.attributes['sockscope.bytes_sent']),
    commands.map(([cmd, enc]) => Buffer.byteLength(cmd, enc ?? 'utf8')),
  );
});

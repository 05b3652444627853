import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { join } from 'node:path';
import { trace, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { after, beforeEach, test } from 'node:test';
import { configure, instrumentation, provider, reset, sockscopeSpans, spans, waitFor } from '../helpers/otel';
import { connect, roundTrip, startEcho, startServer } from '../helpers/servers';

beforeEach(() => {
  configure();
  reset();
});

function protoSnapshot(): Map<string, PropertyDescriptor | undefined> {
  const p = net.Socket.prototype as unknown as Record<string, unknown>;
  const m = new Map<string, PropertyDescriptor | undefined>();
  for (const k of Object.getOwnPropertyNames(p)) m.set(k, Object.getOwnPropertyDescriptor(p, k));
  m.set('write (resolved)', { value: p.write });
  m.set('push (resolved)', { value: p.push });
  return m;
}

test('enable() and disable() restore net.Socket.prototype exactly, and enabling twice does not double-wrap', () => {
  instrumentation.disable();
  const before = protoSnapshot();
  instrumentation.enable();
  const patched = protoSnapshot();
  assert.notDeepEqual(patched, before);
  instrumentation.enable();
  assert.deepEqual(protoSnapshot(), patched, 'a second enable() changes nothing');
  instrumentation.disable();
  assert.deepEqual(protoSnapshot(), before);
  instrumentation.disable();
  assert.deepEqual(protoSnapshot(), before);
  instrumentation.enable();
});

test('a socket that existed before enable() is traced from its next exchange, with no connection span', async () => {
  const peer = await startEcho();
  after(() => peer.close());
  instrumentation.disable();
  const s = await connect(peer.port);
  await roundTrip(s, 'before');
  instrumentation.enable();
  reset();
  await roundTrip(s, 'after');
  s.destroy();
  await waitFor(() => sockscopeSpans('exchange').length === 1);
  assert.equal(sockscopeSpans('connection').length, 0);
  const [e] = sockscopeSpans('exchange');
  assert.equal(e.attributes['server.port'], peer.port);
  assert.equal(e.attributes['sockscope.bytes_sent'], 5);
});

test('disable() ends every open span: none is left open', async () => {
  const peer = await startEcho();
  after(() => peer.close());
  const s = await connect(peer.port);
  s.write('pending');
  instrumentation.disable();
  instrumentation.enable();
  assert.equal(sockscopeSpans('connection').length, 1);
  assert.equal(sockscopeSpans('exchange').length, 1);
  s.destroy();
});

test('a socket with no error handler whose connect fails raises the same uncaught error with and without sockscope', async () => {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  const app = join(__dirname, '../fixtures/apps/unhandled-connect.ts');
  const run = (on: string) =>
    spawnSync(process.execPath, ['--import', 'tsx', app], {
      env: { ...process.env, PORT: String(port), SOCKSCOPE: on },
      encoding: 'utf8',
    });
  const off = run('0');
  const on = run('1');
  assert.notEqual(off.status, 0);
  assert.equal(on.status, off.status);
  assert.match(off.stderr, /ECONNREFUSED/);
  assert.match(on.stderr, /ECONNREFUSED/);
  assert.match(on.stderr, /Unhandled 'error' event|connect ECONNREFUSED/);
});

test('no error, data or readable listener is ever added, and none is left after 10,000 exchanges on one socket', async () => {
  const peer = await startEcho();
  after(() => peer.close());
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  const saved = EventEmitter.defaultMaxListeners;
  EventEmitter.defaultMaxListeners = 6;
  try {
    const counts = async (on: boolean) => {
      if (on) instrumentation.enable();
      else instrumentation.disable();
      const s = await connect(peer.port);
      for (let i = 0; i < 10_000; i++) await roundTrip(s, 'ping');
      const names = s.eventNames().map(String).sort();
      const result = Object.fromEntries(names.map((n) => [n, s.listenerCount(n)]));
      const symbols = Object.getOwnPropertySymbols(s).map(String).sort();
      s.destroy();
      return { result, symbols };
    };
    const without = await counts(false);
    const withTap = await counts(true);
    assert.deepEqual(withTap.result, without.result);
    assert.deepEqual(withTap.symbols, without.symbols);
  } finally {
    EventEmitter.defaultMaxListeners = saved;
    process.off('warning', onWarning);
    instrumentation.enable();
  }
  assert.deepEqual(
    warnings.filter((w) => w.name === 'MaxListenersExceededWarning'),
    [],
  );
});

test('a paused socket stays paused and keeps its data until the app resumes it', async () => {
  const peer = await startServer((s) => s.on('data', () => s.write('answer')));
  after(() => peer.close());
  const s = await connect(peer.port);
  s.pause();
  s.write('q');
  await waitFor(() => s.readableLength === 6);
  assert.equal(s.readableFlowing, false);
  assert.equal(s.listenerCount('data'), 0);
  const got = await new Promise<Buffer>((r) => {
    s.once('data', r);
    s.resume();
  });
  assert.equal(got.toString(), 'answer');
  s.destroy();
});

test('write() return values, callbacks, back-pressure and drain, this and return values are unchanged', async () => {
  let serverSide: net.Socket | undefined;
  const peer = await startServer((s) => {
    serverSide = s;
    s.pause(); // reads nothing until told: the client fills its buffers
  });
  after(() => peer.close());
  const s = await connect(peer.port);
  assert.equal(s.setNoDelay(true), s);
  const big = Buffer.alloc(8 * 1024 * 1024, 1);
  let called = false;
  const ret = s.write(big, () => (called = true));
  assert.equal(ret, false, 'back-pressure is reported as without sockscope');
  const drained = new Promise((r) => s.once('drain', r));
  serverSide!.resume();
  await drained;
  await waitFor(() => called, 5000, 'write callback');
  assert.equal(s.end(), s);
  s.destroy();
});

test('a socket created with the onread option still delivers its data', async () => {
  const peer = await startEcho();
  after(() => peer.close());
  const received: string[] = [];
  const s = net.connect({
    port: peer.port,
    host: '127.0.0.1',
    onread: {
      buffer: Buffer.alloc(64),
      callback: (n: number, buf: Uint8Array) => {
        received.push(Buffer.from(buf.subarray(0, n)).toString());
        return true;
      },
    },
  });
  await new Promise((r) => s.once('connect', r));
  s.write('via-onread');
  await waitFor(() => received.join('') === 'via-onread');
  s.destroy();
});

test('stdout, child-process stdio and IPC channels are left alone', async () => {
  process.stdout.write('# a line on the test runner pipe\n');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(__dirname, '../fixtures/apps/stdio-child.ts')],
    {
      stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
    },
  );
  const out: string[] = [];
  child.stdout!.on('data', (d) => out.push(String(d)));
  const reply = new Promise((r) => child.once('message', r));
  child.send({ hello: 1 });
  child.stdin!.write('twelve bytes');
  assert.deepEqual(await reply, { echo: { hello: 1 } });
  await waitFor(() => out.join('').includes('child got 12 bytes'), 10_000, 'child stdout');
  child.kill();
  await new Promise((r) => child.once('exit', r));
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(sockscopeSpans(), []);
});

test('an internal failure (a tracer that throws) never reaches the app, whose I/O still completes', async () => {
  const peer = await startEcho();
  after(() => peer.close());
  const explode = () => {
    throw new Error('tracer exploded');
  };
  const broken: TracerProvider = {
    getTracer: () => ({ startSpan: explode, startActiveSpan: explode }) as unknown as Tracer,
  };
  instrumentation.setTracerProvider(broken);
  try {
    for (let i = 0; i < 3; i++) {
      const s = await connect(peer.port);
      assert.equal((await roundTrip(s, 'still works')).toString(), 'still works');
      s.end();
      await new Promise((r) => s.once('close', r));
    }
  } finally {
    instrumentation.setTracerProvider(provider);
  }
  assert.equal(spans().length, 0);
  assert.ok(trace.getTracerProvider());
});

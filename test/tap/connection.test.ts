import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { SpanStatusCode } from '@opentelemetry/api';
import { after, beforeEach, test } from 'node:test';
import { configure, inSpan, parentId, reset, sockscopeSpans, waitFor } from '../helpers/otel';
import { roundTrip, startEcho, startLineServer, startServer } from '../helpers/servers';

const cert = readFileSync(join(__dirname, '../fixtures/tls/cert.pem'));
const key = readFileSync(join(__dirname, '../fixtures/tls/key.pem'));

beforeEach(() => {
  configure();
  reset();
});

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

test('a TCP connection span is parented to the context active at connect() and ends on close with totals', async () => {
  const peer = await startLineServer((l) => `${l}!\n`);
  after(() => peer.close());
  await inSpan('caller', async (caller) => {
    const s = net.connect({ port: peer.port, host: 'localhost', family: 4 });
    await new Promise((r) => s.once('connect', r));
    await roundTrip(s, 'hello\n');
    s.end();
    await waitFor(() => sockscopeSpans('connection').length === 1);
    const [c] = sockscopeSpans('connection');
    assert.equal(parentId(c), caller.spanContext().spanId);
    assert.equal(c.name, 'tcp connect');
    assert.equal(c.attributes['server.address'], 'localhost');
    assert.equal(c.attributes['network.type'], 'ipv4');
    assert.equal(c.attributes['sockscope.bytes_sent'], 6);
    assert.equal(c.attributes['sockscope.bytes_received'], 7);
    assert.deepEqual(
      c.events.map((e) => e.name),
      ['dns.lookup', 'connect'],
    );
    assert.equal(c.status.code, SpanStatusCode.UNSET);
  });
});

test('a unix socket connection is named "unix connect" and its exchanges "unix exchange"', async () => {
  const path = join(tmpdir(), `sockscope-${process.pid}-${Date.now()}.sock`);
  const peer = await startEcho(path);
  after(() => peer.close());
  const s = net.connect(path);
  await new Promise((r) => s.once('connect', r));
  await roundTrip(s, 'ping');
  s.destroy();
  await waitFor(() => sockscopeSpans('connection').length === 1);
  const [c] = sockscopeSpans('connection');
  assert.equal(c.name, 'unix connect');
  assert.equal(c.attributes['network.transport'], 'unix');
  assert.equal(c.attributes['server.address'], path);
  assert.equal(c.attributes['server.port'], undefined);
  const [e] = sockscopeSpans('exchange');
  assert.equal(e.name, 'unix exchange');
  assert.equal(e.attributes['sockscope.bytes_received'], 4);
});

test('a TLS connection is "tcp connect" with tls.* attributes, and its plaintext exchanges are seen', async () => {
  const server = tls.createServer({ key, cert, ALPNProtocols: ['x-echo'] }, (s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => server.close());
  const { port } = server.address() as net.AddressInfo;
  const s = tls.connect({
    port,
    host: '127.0.0.1',
    servername: 'localhost',
    ca: cert,
    ALPNProtocols: ['x-echo'],
  });
  await new Promise((r) => s.once('secureConnect', r));
  const answer = await roundTrip(s as unknown as net.Socket, 'secret-plaintext');
  assert.equal(answer.toString(), 'secret-plaintext');
  s.destroy();
  await waitFor(() => sockscopeSpans('connection').length === 1);
  const [c] = sockscopeSpans('connection');
  assert.equal(c.name, 'tcp connect');
  assert.equal(c.attributes['tls.established'], true);
  assert.equal(c.attributes['tls.protocol.version'], '1.3');
  assert.equal(c.attributes['tls.server.name'], 'localhost');
  assert.equal(c.attributes['tls.next_protocol'], 'x-echo');
  assert.equal(typeof c.attributes['tls.cipher'], 'string');
  assert.ok(c.events.some((e) => e.name === 'tls.handshake'));
  const [e] = sockscopeSpans('exchange');
  assert.equal(e.attributes['sockscope.bytes_sent'], 16);
  assert.equal(e.attributes['sockscope.bytes_received'], 16);
});

test('a refused connection ends its span with error.type ECONNREFUSED and ERROR status', async () => {
  const port = await closedPort();
  const s = net.connect(port, '127.0.0.1');
  const err = await new Promise<NodeJS.ErrnoException>((r) => s.once('error', r));
  assert.equal(err.code, 'ECONNREFUSED');
  await waitFor(() => sockscopeSpans('connection').length === 1);
  const [c] = sockscopeSpans('connection');
  assert.equal(c.attributes['error.type'], 'ECONNREFUSED');
  assert.equal(c.status.code, SpanStatusCode.ERROR);
  assert.equal(c.status.message, 'connect failed');
});

test('a failed DNS lookup ends the span with the lookup error code', async () => {
  const lookup = ((_h: string, _o: unknown, cb: (e: NodeJS.ErrnoException) => void) => {
    const e: NodeJS.ErrnoException = new Error('getaddrinfo ENOTFOUND nowhere.invalid');
    e.code = 'ENOTFOUND';
    process.nextTick(cb, e);
  }) as unknown as net.LookupFunction;
  const s = net.connect({ port: 80, host: 'nowhere.invalid', lookup });
  const err = await new Promise<NodeJS.ErrnoException>((r) => s.once('error', r));
  assert.equal(err.code, 'ENOTFOUND');
  await waitFor(() => sockscopeSpans('connection').length === 1);
  assert.equal(sockscopeSpans('connection')[0].attributes['error.type'], 'ENOTFOUND');
});

test('with autoSelectFamily, an AggregateError of failed attempts still gives a code and a status message', async () => {
  const port = await closedPort();
  const lookup = ((
    _h: string,
    _o: unknown,
    cb: (e: null, a: Array<{ address: string; family: number }>) => void,
  ) =>
    process.nextTick(cb, null, [
      { address: '127.0.0.1', family: 4 },
      { address: '127.0.0.2', family: 4 },
    ])) as unknown as net.LookupFunction;
  const s = net.connect({ port, host: 'multi.test', lookup, autoSelectFamily: true });
  const err = await new Promise<Error>((r) => s.once('error', r));
  assert.equal(err.constructor.name, 'AggregateError');
  await waitFor(() => sockscopeSpans('connection').length === 1);
  const [c] = sockscopeSpans('connection');
  assert.equal(c.attributes['error.type'], 'ECONNREFUSED');
  assert.equal(c.status.message, 'connect failed');
});

test('destroy() while connecting or during the TLS handshake ends the connection span', async () => {
  const silent = net.createServer(() => {}); // accepts, never answers the TLS ClientHello
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  after(() => silent.close());
  const { port } = silent.address() as net.AddressInfo;
  const a = net.connect(port, '127.0.0.1');
  a.destroy();
  const b = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
  b.on('error', () => {});
  await new Promise((r) => b.once('connect', r));
  b.destroy();
  await waitFor(() => sockscopeSpans('connection').length === 2);
});

test('a TLS certificate error ends the span with the certificate error code', async () => {
  const server = tls.createServer({ key, cert }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => server.close());
  const { port } = server.address() as net.AddressInfo;
  const s = tls.connect({ port, host: '127.0.0.1', servername: 'localhost' }); // self-signed, not trusted
  const err = await new Promise<NodeJS.ErrnoException>((r) => s.once('error', r));
  await waitFor(() => sockscopeSpans('connection').length === 1);
  assert.equal(sockscopeSpans('connection')[0].attributes['error.type'], err.code);
  assert.equal(err.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
});

test('connections: false emits no connection span but still traces exchanges', async () => {
  configure({ connections: false });
  const peer = await startEcho();
  after(() => peer.close());
  const s = net.connect(peer.port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  await roundTrip(s, 'x');
  s.destroy();
  await waitFor(() => sockscopeSpans('exchange').length === 1);
  assert.equal(sockscopeSpans('connection').length, 0);
  assert.deepEqual(sockscopeSpans('exchange')[0].links, []);
});

test('ignore leaves matching sockets alone, by host:port string, RegExp, object and function', async () => {
  const peer = await startEcho();
  after(() => peer.close());
  for (const ignore of [
    [`127.0.0.1:${peer.port}`],
    [/^127\.0\.0\.1$/],
    [{ port: peer.port }],
    [(t: { port?: number }) => t.port === peer.port],
  ]) {
    configure({ ignore });
    reset();
    const s = net.connect(peer.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    await roundTrip(s, 'x');
    await new Promise<void>((r) => s.end(() => r()));
    s.destroy();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(sockscopeSpans().length, 0, `ignored by ${String(ignore[0])}`);
  }
});

test('requireParentSpan: false traces root exchanges, true emits nothing without a parent', async () => {
  const peer = await startEcho();
  after(() => peer.close());
  for (const requireParentSpan of [false, true]) {
    configure({ requireParentSpan });
    reset();
    const s = net.connect(peer.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    await roundTrip(s, 'x');
    s.destroy();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(sockscopeSpans().length, requireParentSpan ? 0 : 2);
  }
});

test('a peer resetting an idle connection is recorded as a close event, not an error; mid-exchange it is an error', async () => {
  let mode: 'idle' | 'mid' = 'idle';
  const peer = await startServer((s) =>
    s.on('data', () => {
      if (mode === 'idle') {
        s.write('ok');
        setTimeout(() => s.resetAndDestroy(), 20);
      } else s.resetAndDestroy(); // never answers
    }),
  );
  after(() => peer.close());
  for (const m of ['idle', 'mid'] as const) {
    mode = m;
    reset();
    const s = net.connect(peer.port, '127.0.0.1');
    s.on('error', () => {}); // the app handles its errors
    await new Promise((r) => s.once('connect', r));
    s.write('request');
    await new Promise((r) => s.once('close', r));
    await waitFor(() => sockscopeSpans('connection').length === 1);
    const [c] = sockscopeSpans('connection');
    const [e] = sockscopeSpans('exchange');
    if (m === 'idle') {
      assert.equal(c.status.code, SpanStatusCode.UNSET);
      assert.equal(c.events.find((ev) => ev.name === 'close')?.attributes?.['error.type'], 'ECONNRESET');
      assert.equal(e.status.code, SpanStatusCode.UNSET);
    } else {
      assert.equal(c.status.code, SpanStatusCode.ERROR);
      assert.equal(e.status.code, SpanStatusCode.ERROR);
      assert.equal(e.attributes['error.type'], 'ECONNRESET');
    }
  }
});

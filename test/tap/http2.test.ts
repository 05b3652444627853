import assert from 'node:assert/strict';
// The module object itself, so that a test can put another wrapper on its `connect`.
import http2 = require('node:http2');
import type { AddressInfo } from 'node:net';
import { SpanKind } from '@opentelemetry/api';
import { after, beforeEach, test } from 'node:test';
import {
  configure,
  inSpan,
  instrumentation,
  parentId,
  provider,
  reset,
  sockscopeSpans,
  waitFor,
} from '../helpers/otel';

beforeEach(() => {
  configure();
  reset();
});

test('an http2 client session is opaque at the socket; each stream is an "http {method}" exchange', async () => {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const status = headers[':path'] === '/fail' ? 503 : 200;
    stream.respond({ ':status': status });
    stream.end('body');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => server.close());
  const { port } = server.address() as AddressInfo;
  const ids: string[] = [];
  const session = http2.connect(`http://127.0.0.1:${port}`);
  const get = (path: string, method = 'GET') =>
    inSpan(`req ${path}`, (span) => {
      ids.push(span.spanContext().spanId);
      return new Promise<number>((resolve) => {
        const req = session.request({ ':path': path, ':method': method });
        let status = 0;
        req.on('response', (h) => (status = Number(h[':status'])));
        req.resume();
        req.on('close', () => resolve(status));
        req.end();
      });
    });
  assert.equal(await get('/a'), 200);
  assert.equal(await get('/b', 'POST'), 200);
  assert.equal(await get('/fail'), 503);
  session.close();
  await waitFor(() => sockscopeSpans('connection').length === 1);
  const [c] = sockscopeSpans('connection');
  assert.equal(c.attributes['sockscope.opaque'], true);
  assert.ok(Number(c.attributes['sockscope.bytes_sent']) > 0, 'byte totals from the socket counters');
  assert.ok(Number(c.attributes['sockscope.bytes_received']) > 0);
  assert.equal(c.attributes['sockscope.exchanges'], 3);
  const ex = sockscopeSpans('exchange');
  assert.deepEqual(ex.map((e) => e.name).sort(), ['http GET', 'http GET', 'http POST']);
  assert.deepEqual(ex.map(parentId).sort(), [...ids].sort());
  for (const e of ex) {
    assert.equal(e.attributes['network.protocol.version'], '2');
    assert.equal(e.links[0]?.context.spanId, c.spanContext().spanId);
  }
  const failed = ex.find((e) => e.attributes['http.response.status_code'] === 503);
  assert.equal(failed?.status.code, 2);
});

/** An HTTP/2 server answering 200 to every stream. */
async function h2Server(): Promise<{ port: number }> {
  const server = http2.createServer();
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => server.close());
  return { port: (server.address() as AddressInfo).port };
}

/** One request on a new session, closed after the answer. */
function requestOnce(port: number, headers: http2.OutgoingHttpHeaders = { ':path': '/' }): Promise<void> {
  return new Promise((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const req = session.request(headers);
    req.resume();
    req.on('close', () => {
      session.close();
      resolve();
    });
    req.end();
  });
}

test('an unknown HTTP/2 :method is recorded as _OTHER, never as the span name', async () => {
  const { port } = await h2Server();
  await inSpan('caller', () => requestOnce(port, { ':path': '/', ':method': 'S3CR3TMETHOD' }));
  await waitFor(() => sockscopeSpans('exchange').length === 1);
  const [ex] = sockscopeSpans('exchange');
  assert.equal(ex.name, 'http _OTHER');
  assert.equal(ex.attributes['http.request.method'], '_OTHER');
  assert.equal(ex.attributes['sockscope.operation'], '_OTHER');
  assert.doesNotMatch(JSON.stringify(sockscopeSpans().map((s) => [s.name, s.attributes])), /S3CR3T/);
});

test('an HTTP/2 stream whose socket address is not known yet names no server, not "undefined"', async () => {
  const { port } = await h2Server();
  // The socket left untraced (ignored), and the request made before it connects: no address yet.
  configure({ ignore: [{ port }] });
  const upstream = provider.getTracer('some-instrumentation');
  await inSpan('caller', async () => {
    // An upstream span naming a server literally called "undefined" must not cover it.
    const named = upstream.startSpan('call', {
      kind: SpanKind.CLIENT,
      attributes: { 'server.address': 'undefined' },
    });
    const other = upstream.startSpan('other', {
      kind: SpanKind.CLIENT,
      attributes: { 'server.address': 'elsewhere' },
    });
    await requestOnce(port);
    named.end();
    other.end();
  });
  await waitFor(() => sockscopeSpans('exchange').length === 1);
  const [ex] = sockscopeSpans('exchange');
  assert.equal(ex.attributes['server.address'], undefined);
  assert.equal(ex.attributes['sockscope.covered'], false);
});

test('HTTP/2 streams are traced beside another wrapper of http2.connect, and disable() leaves it working', async () => {
  const { port } = await h2Server();
  instrumentation.disable();
  const original = http2.connect;
  let calls = 0;
  // Another instrumentation's wrapper, with shimmer's marks, installed before sockscope.
  const other = Object.assign(
    function connect(this: unknown, ...args: unknown[]) {
      calls++;
      return (original as (...a: unknown[]) => http2.ClientHttp2Session).apply(this, args);
    },
    { __original: original, __wrapped: true },
  ) as unknown as typeof http2.connect;
  http2.connect = other;
  try {
    instrumentation.enable();
    assert.notEqual(http2.connect, other, 'sockscope wraps the other wrapper');
    await inSpan('first', () => requestOnce(port));
    await waitFor(() => sockscopeSpans('exchange').length === 1);
    assert.equal(calls, 1, 'the other wrapper ran');

    instrumentation.disable();
    assert.equal(http2.connect, other, 'disable() put the other wrapper back on top');
    await inSpan('off', () => requestOnce(port));
    assert.equal(calls, 2);
    assert.equal(sockscopeSpans('exchange').length, 1, 'nothing traced while disabled');

    // Now the other one wraps on top of sockscope: sockscope stays in the chain, inert, until enabled.
    instrumentation.enable();
    const sockscopes = http2.connect;
    const top = Object.assign(
      function connect(this: unknown, ...args: unknown[]) {
        calls++;
        return (sockscopes as (...a: unknown[]) => http2.ClientHttp2Session).apply(this, args);
      },
      { __original: sockscopes, __wrapped: true },
    ) as unknown as typeof http2.connect;
    http2.connect = top;
    instrumentation.disable();
    assert.equal(http2.connect, top, 'a wrapper on top of sockscope is left in place');
    await inSpan('inert', () => requestOnce(port));
    assert.equal(sockscopeSpans('exchange').length, 1, 'sockscope inert under it');
    instrumentation.enable();
    assert.equal(http2.connect, top, 'not wrapped twice');
    await inSpan('again', () => requestOnce(port));
    await waitFor(() => sockscopeSpans('exchange').length === 2);
    assert.equal(calls, 6, 'both wrappers ran for each of the last two sessions');
  } finally {
    instrumentation.disable();
    http2.connect = original;
    instrumentation.enable();
  }
});

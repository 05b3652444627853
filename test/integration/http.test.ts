/**
 * `node:http` and `fetch` (undici) clients against a local HTTP/1.1 server, through the whole tap:
 * one exchange per request on a kept-alive socket, ended by Content-Length or chunked framing
 * while the socket stays open (see `FRAMING_ONLY` in ./support). The server's own sockets are not
 * traced (accepted sockets). `node:http2` is covered in test/tap/http2.test.ts.
 */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { beforeEach, test, type TestContext } from 'node:test';
import { configure, reset } from '../helpers/otel';
import { FRAMING_ONLY, HOST, assertExchange, step } from './support';

beforeEach(() => {
  configure(FRAMING_ONLY);
  reset();
});

const httpAttrs = (method: string, status: number) => ({
  'network.protocol.name': 'http',
  'network.protocol.version': '1.1',
  'sockscope.operation': method,
  'http.request.method': method,
  'http.response.status_code': status,
});

/** A keep-alive server: `/fail` answers 503, `/chunked` streams a chunked body, others echo the body length. */
async function startHttpServer(t: TestContext): Promise<number> {
  const server = http.createServer((req, res) => {
    let n = 0;
    req.on('data', (d: Buffer) => (n += d.length));
    req.on('end', () => {
      if (req.url === '/fail') {
        res.statusCode = 503;
        res.end('unavailable');
      } else if (req.url === '/chunked') {
        res.write('a'.repeat(2000));
        setImmediate(() => res.end('b'.repeat(3000)));
      } else res.end(`got ${n}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  t.after(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return (server.address() as AddressInfo).port;
}

function request(
  agent: http.Agent,
  port: number,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port, method, path, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('node:http: two requests on one kept-alive socket are two http exchanges with their status codes', async (t) => {
  const port = await startHttpServer(t);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const first = await step('first', 1, () => request(agent, port, 'GET', '/'));
  assert.equal(first.result.status, 200);
  assertExchange(first.exchanges[0], 'http GET', {
    ...httpAttrs('GET', 200),
    'sockscope.caller.package': '(app)',
  });
  const second = await step('second', 1, () => request(agent, port, 'POST', '/', 'x'.repeat(5000)));
  assert.equal(second.result.body, 'got 5000');
  assertExchange(second.exchanges[0], 'http POST', httpAttrs('POST', 200));
  assert.ok(Number(second.exchanges[0].attributes['sockscope.bytes_sent']) > 5000, 'the body is part of it');
  const chunked = await step('chunked', 1, () => request(agent, port, 'GET', '/chunked'));
  assert.equal(chunked.result.body.length, 5000);
  assertExchange(chunked.exchanges[0], 'http GET', httpAttrs('GET', 200));
  assert.ok(Number(chunked.exchanges[0].attributes['sockscope.bytes_received']) > 5000);
  const socket = first.exchanges[0].links[0]?.context.spanId;
  assert.ok(socket);
  assert.equal(second.exchanges[0].links[0]?.context.spanId, socket, 'the socket was reused');
  assert.equal(chunked.exchanges[0].links[0]?.context.spanId, socket, 'the socket was reused');
});

test('node:http: a 503 response is an ERROR exchange, and the kept-alive socket serves the next request', async (t) => {
  const port = await startHttpServer(t);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const failed = await step('503', 1, () => request(agent, port, 'GET', '/fail'));
  assert.equal(failed.result.status, 503);
  assertExchange(failed.exchanges[0], 'http GET', httpAttrs('GET', 503), 'http.503');
  const next = await step('next', 1, () => request(agent, port, 'GET', '/'));
  assertExchange(next.exchanges[0], 'http GET', httpAttrs('GET', 200));
  assert.equal(next.exchanges[0].links[0]?.context.spanId, failed.exchanges[0].links[0]?.context.spanId);
});

test('fetch: requests reusing a kept-alive undici socket are one http exchange each, with their status codes', async (t) => {
  const port = await startHttpServer(t);
  const get = async (path: string, init?: RequestInit) => {
    const res = await fetch(`http://${HOST}:${port}${path}`, init);
    return { status: res.status, body: await res.text() };
  };
  // undici picks among its pooled sockets itself (measured without sockscope too: five fetches in a
  // row used two sockets, the first once), so send four and look for a socket that served several.
  const bySocket = new Map<string | undefined, number>();
  for (let i = 0; i < 4; i++) {
    const s = await step(`get ${i}`, 1, () => get('/'));
    assert.equal(s.result.status, 200);
    assertExchange(s.exchanges[0], 'http GET', {
      ...httpAttrs('GET', 200),
      'sockscope.caller.package': 'undici',
    });
    const socket = s.exchanges[0].links[0]?.context.spanId;
    bySocket.set(socket, (bySocket.get(socket) ?? 0) + 1);
  }
  assert.ok(!bySocket.has(undefined), 'every exchange links to its connection');
  assert.ok(Math.max(...bySocket.values()) >= 2, `a socket was reused: ${[...bySocket.values()]}`);
  const failed = await step('503', 1, () => get('/fail', { method: 'POST', body: 'abc' }));
  assert.equal(failed.result.status, 503);
  assertExchange(failed.exchanges[0], 'http POST', httpAttrs('POST', 503), 'http.503');
});

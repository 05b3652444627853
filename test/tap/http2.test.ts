import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, beforeEach, test } from 'node:test';
import { configure, inSpan, parentId, reset, sockscopeSpans, waitFor } from '../helpers/otel';

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

/**
 * The gap rows of real HTTP/2 and WebSocket clients talking to real local servers, with the
 * official instrumentation-http enabled: what it does not describe must be said plainly.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, beforeEach, test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { analyzeGaps, type GapRow } from '../../src/analysis/gaps';
import { parseTraceText } from '../../src/analysis/read';
import { SUGGEST_NONE_HTTP2, SUGGEST_NONE_WEBSOCKET } from '../../src/analysis/suggestions';
import { configure, inSpan, provider, reset, sockscopeSpans, spans, waitFor } from '../helpers/otel';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';

// instrumentation-http patches `http`/`https` on require: enable it before they are loaded (this file
// imports no helper that loads them first: with ./helpers' Zipkin exporter loaded before, it made no span).
const httpInstrumentation = new HttpInstrumentation();
httpInstrumentation.setTracerProvider(provider);

const http = require('node:http') as typeof import('node:http');
const http2 = require('node:http2') as typeof import('node:http2');
const WebSocket = require('ws') as typeof import('ws');

beforeEach(() => {
  configure();
  reset();
});

/** The gap rows of everything recorded so far, read back from OTLP/JSON as `sockscope gaps` reads a file. */
function rows(): GapRow[] {
  return analyzeGaps(
    parseTraceText(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans())), 'mem'),
  ).rows;
}

const httpClientSpans = () =>
  spans().filter(
    (s) =>
      s.instrumentationScope.name === '@opentelemetry/instrumentation-http' && s.kind === SpanKind.CLIENT,
  );

test('a real node:http2 client: instrumentation-http makes no span, and its row is http2 with no official instrumentation', async () => {
  const server = http2.createServer();
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => server.close());
  const { port } = server.address() as AddressInfo;
  const session = http2.connect(`http://127.0.0.1:${port}`);
  for (let i = 0; i < 3; i++) {
    await inSpan('handler', () => {
      return new Promise<void>((resolve) => {
        const req = session.request({ ':path': `/item/${i}` });
        req.resume();
        req.on('close', () => resolve());
        req.end();
      });
    });
  }
  session.close();
  await waitFor(() => sockscopeSpans('connection').length === 1, 3000, 'the session to close');

  assert.deepEqual(httpClientSpans(), [], 'instrumentation-http does not instrument node:http2 clients');
  // What the HTTP/2 tap really records: HTTP, version 2.
  const ex = sockscopeSpans('exchange');
  assert.equal(ex.length, 3);
  for (const e of ex) {
    assert.equal(e.attributes['network.protocol.name'], 'http');
    assert.equal(e.attributes['network.protocol.version'], '2');
  }
  const [row] = rows().filter((r) => r.server === `127.0.0.1:${port}`);
  assert.equal(row.protocol, 'http2');
  assert.deepEqual([row.operations, row.operationsUncovered, row.verdict], [3, 3, 'uncovered']);
  assert.equal(row.suggestion, SUGGEST_NONE_HTTP2);
  assert.doesNotMatch(row.suggestion, /enable/);
});

test('a real HTTP/1.1 request beside it keeps protocol http, covered by instrumentation-http', async () => {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => server.close());
  const { port } = server.address() as AddressInfo;
  await inSpan('handler', () => {
    return new Promise<void>((resolve, reject) => {
      const agent = new http.Agent({ keepAlive: false });
      http
        .get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        })
        .on('error', reject);
    });
  });
  await waitFor(() => sockscopeSpans('exchange').length === 1, 3000, 'the exchange');
  assert.equal(httpClientSpans().length, 1);
  const [row] = rows().filter((r) => r.server === `127.0.0.1:${port}`);
  assert.equal(row.protocol, 'http');
  assert.equal(row.verdict, 'covered');
  assert.deepEqual(row.coveredBy, ['@opentelemetry/instrumentation-http']);
});

test('a real ws client: its messages are a `ws websocket` row with no official instrumentation; the upgrade is covered HTTP', async () => {
  const wss = new WebSocket.WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  after(() => wss.close());
  wss.on('connection', (socket) => socket.on('message', (m) => socket.send(m)));
  const { port } = wss.address() as AddressInfo;
  await inSpan('handler', async () => {
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    await new Promise((r) => client.once('open', r));
    for (let i = 0; i < 3; i++) {
      client.send(`message ${i}`);
      await new Promise((r) => client.once('message', r));
    }
    client.close();
    await new Promise((r) => client.once('close', r));
  });
  await waitFor(() => sockscopeSpans('connection').length === 1, 3000, 'the socket to close');
  const mine = rows().filter((r) => r.server === `127.0.0.1:${port}`);
  const ws = mine.find((r) => r.protocol === 'websocket');
  assert.ok(ws, `a websocket row: ${JSON.stringify(mine)}`);
  assert.equal(ws.callerPackage, 'ws');
  assert.equal(ws.verdict, 'uncovered');
  assert.equal(ws.operations, 3, 'three TEXT messages');
  assert.deepEqual(ws.uncoveredOperationNames, ['TEXT']);
  assert.deepEqual(ws.phases.teardown, { exchanges: 1, covered: 0, uncovered: 1 }, 'the CLOSE frame');
  assert.equal(ws.suggestion, SUGGEST_NONE_WEBSOCKET);
  const upgrade = mine.find((r) => r.protocol === 'http');
  assert.ok(upgrade, 'the upgrade request is an http row');
  assert.equal(upgrade.callerPackage, 'ws');
  assert.equal(upgrade.verdict, 'covered');
  assert.deepEqual(upgrade.coveredBy, ['@opentelemetry/instrumentation-http']);
});

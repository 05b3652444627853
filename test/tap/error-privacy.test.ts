import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanStatusCode } from '@opentelemetry/api';
import { after, beforeEach, test } from 'node:test';
import { configure, reset, sockscopeSpans, waitFor } from '../helpers/otel';

beforeEach(() => {
  configure();
  reset();
});

const SECRET = 'S3CR3T-t0ken-5f2a9c';

test('an error destroying a request with a secret in its message puts no free text in any span', async () => {
  // The server takes the request and never answers: the client gives up with its own error.
  const held: http.ServerResponse[] = [];
  const server = http.createServer((_req, res) => held.push(res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => {
    for (const res of held) res.destroy();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/reset?token=${SECRET}`;
  const req = http.get(url, { agent: false });
  await new Promise<void>((r) => server.once('request', () => r()));
  const failed = new Promise<Error>((r) => req.once('error', r));
  req.destroy(new Error(`request to ${url} timed out`));
  assert.match((await failed).message, new RegExp(SECRET), 'the client did see the secret-bearing error');
  await waitFor(() => sockscopeSpans('connection').length === 1 && sockscopeSpans('exchange').length === 1);

  const [conn] = sockscopeSpans('connection');
  const [ex] = sockscopeSpans('exchange');
  assert.equal(ex.name, 'http GET');
  for (const span of [conn, ex]) {
    assert.equal(span.status.code, SpanStatusCode.ERROR, `${span.name} failed`);
    assert.equal(span.status.message, 'socket failed mid-exchange', `${span.name}: sockscope's own words`);
    assert.equal(span.attributes['error.type'], 'Error', `${span.name}: the error's name`);
    const everything = JSON.stringify({
      name: span.name,
      attributes: span.attributes,
      status: span.status,
      events: span.events.map((e) => ({ name: e.name, attributes: e.attributes })),
    });
    assert.doesNotMatch(everything, new RegExp(SECRET), `${span.name} holds no part of the secret`);
    assert.doesNotMatch(everything, /timed out|reset\?token/, `${span.name} holds no error text`);
  }
});

test("an error whose code and name are free text is recorded as error.type '_OTHER'", async () => {
  const held: http.ServerResponse[] = [];
  const server = http.createServer((_req, res) => held.push(res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => {
    for (const res of held) res.destroy();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  const req = http.get(`http://127.0.0.1:${port}/`, { agent: false });
  await new Promise<void>((r) => server.once('request', () => r()));
  const failed = new Promise<Error>((r) => req.once('error', r));
  const err = Object.assign(new Error('boom'), { code: `token=${SECRET}`, name: `Error ${SECRET}` });
  req.destroy(err);
  await failed;
  await waitFor(() => sockscopeSpans('exchange').length === 1 && sockscopeSpans('connection').length === 1);
  for (const span of sockscopeSpans()) {
    assert.equal(span.attributes['error.type'], '_OTHER');
    assert.doesNotMatch(JSON.stringify(span.attributes), new RegExp(SECRET));
  }
});

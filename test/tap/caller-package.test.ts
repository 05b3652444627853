import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { configure, reset, sockscopeSpans, waitFor } from '../helpers/otel';

/** A package in a node_modules folder whose code makes an HTTP request with `http.get`. */
function installFakePackage(name: string): (url: string) => Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'sockscope-caller-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'node_modules', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'index.js'),
    `const http = require('node:http');
module.exports = (url) => new Promise((resolve, reject) => {
  http.get(url, { agent: new http.Agent() }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject);
});
`,
  );
  return require(dir) as (url: string) => Promise<void>;
}

test('a package that opens its socket many frames above net.connect (http.get through an Agent) is named', async () => {
  configure();
  reset();
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  const get = installFakePackage('deep-caller');
  await get(`http://127.0.0.1:${port}/`);
  await waitFor(() => sockscopeSpans('connection').some((s) => s.attributes['server.port'] === port));
  const conn = sockscopeSpans('connection').find((s) => s.attributes['server.port'] === port)!;
  // Agent → createConnection → net.connect puts the package's frame more than eight frames up.
  assert.equal(conn.attributes['sockscope.caller.package'], 'deep-caller');
});

test('application code making a request with http.get is (app)', async () => {
  configure();
  reset();
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve, reject) => {
    http
      .get(`http://127.0.0.1:${port}/`, { agent: new http.Agent() }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
      .on('error', reject);
  });
  await waitFor(() => sockscopeSpans('connection').some((s) => s.attributes['server.port'] === port));
  const conn = sockscopeSpans('connection').find((s) => s.attributes['server.port'] === port)!;
  assert.equal(conn.attributes['sockscope.caller.package'], '(app)');
});

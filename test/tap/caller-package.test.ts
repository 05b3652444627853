import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { configure, reset, sockscopeSpans, waitFor } from '../helpers/otel';

/**
 * A package in a node_modules folder whose code makes an HTTP request with `http.get`; with
 * `manifest`, its package.json (an npm alias install has the real package's under another folder).
 */
function installFakePackage(name: string, manifest?: object): (url: string) => Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'sockscope-caller-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'node_modules', name);
  mkdirSync(dir, { recursive: true });
  if (manifest !== undefined) writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
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

/** The connection and exchange spans of one request; `keepAlive` callers' connections stay open. */
async function requestFrom(get: (url: string) => Promise<void>, keepAlive = false) {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  await get(`http://127.0.0.1:${port}/`);
  const of = (kind: 'connection' | 'exchange') =>
    sockscopeSpans(kind).find((s) => s.attributes['server.port'] === port);
  await waitFor(() => (keepAlive || of('connection') !== undefined) && of('exchange') !== undefined);
  return { conn: of('connection'), exchange: of('exchange')! };
}

test('a package is named by its package.json name and version, also when installed under an alias folder', async () => {
  configure();
  reset();
  const get = installFakePackage('some-alias', { name: 'real-client', version: '2.3.4', main: 'index.js' });
  const { conn, exchange } = await requestFrom(get);
  for (const span of [conn!, exchange]) {
    assert.equal(span.attributes['sockscope.caller.package'], 'real-client', span.name);
    assert.equal(span.attributes['sockscope.caller.package.version'], '2.3.4', span.name);
  }
});

test('a package without a package.json is named by its folder, with no version', async () => {
  configure();
  reset();
  const { conn, exchange } = await requestFrom(installFakePackage('bare-caller'));
  for (const span of [conn!, exchange]) {
    assert.equal(span.attributes['sockscope.caller.package'], 'bare-caller', span.name);
    assert.equal('sockscope.caller.package.version' in span.attributes, false, span.name);
  }
});

test('a scoped package reports its version; fetch reports the undici bundled in Node', async () => {
  configure();
  reset();
  const scoped = await requestFrom(
    installFakePackage('@acme/client', { name: '@acme/client', version: '0.9.0-rc.1' }),
  );
  assert.equal(scoped.conn?.attributes['sockscope.caller.package'], '@acme/client');
  assert.equal(scoped.conn?.attributes['sockscope.caller.package.version'], '0.9.0-rc.1');
  const fetched = await requestFrom(async (url) => void (await (await fetch(url)).text()), true);
  assert.equal(fetched.exchange.attributes['sockscope.caller.package'], 'undici');
  assert.equal(fetched.exchange.attributes['sockscope.caller.package.version'], process.versions.undici);
});

test('a package calling net.connect, or socket.connect() itself, is named from the first frames below the patched connect', async () => {
  configure();
  reset();
  const root = mkdtempSync(join(tmpdir(), 'sockscope-caller-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'node_modules', 'shallow-caller');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'shallow-caller', version: '1.2.3' }));
  writeFileSync(
    join(dir, 'index.js'),
    `const net = require('node:net');
module.exports = (port, direct) => new Promise((resolve, reject) => {
  const s = direct ? new net.Socket() : net.connect(port, '127.0.0.1');
  if (direct) s.connect(port, '127.0.0.1');
  s.once('connect', () => s.end());
  s.once('close', resolve);
  s.once('error', reject);
});
`,
  );
  const open = require(dir) as (port: number, direct: boolean) => Promise<void>;
  for (const direct of [false, true]) {
    const server = net.createServer((s) => s.resume().on('end', () => s.end()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    after(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as { port: number }).port;
    await open(port, direct);
    await waitFor(() => sockscopeSpans('connection').some((s) => s.attributes['server.port'] === port));
    const conn = sockscopeSpans('connection').find((s) => s.attributes['server.port'] === port)!;
    assert.equal(conn.attributes['sockscope.caller.package'], 'shallow-caller', `direct: ${direct}`);
    assert.equal(conn.attributes['sockscope.caller.package.version'], '1.2.3');
  }
});

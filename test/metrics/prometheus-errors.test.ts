/**
 * `gaps --prometheus` against servers that misbehave (real HTTP servers on loopback): each ends in
 * one line on stderr naming the server and what is wrong, and exit code 2. An endless answer is
 * cut off, so memory stays bounded.
 */
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

const CLI = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

function run(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += String(d)));
    p.stderr.on('data', (d: Buffer) => (stderr += String(d)));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

let server: http.Server;
let base = '';
const sockets = new Set<net.Socket>();

before(async () => {
  server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path.startsWith('/slow')) return; // never answers
    if (path.startsWith('/fail')) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'error', errorType: 'internal', error: 'storage\nexploded' }));
      return;
    }
    if (path.startsWith('/html')) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body>not prometheus</body></html>');
      return;
    }
    if (path.startsWith('/empty')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }));
      return;
    }
    if (path.startsWith('/huge')) {
      // An answer without end: the client must stop reading, not buffer it.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"status":"success","data":{"resultType":"vector","result":[');
      const chunk = Buffer.alloc(64 * 1024, ' ');
      const more = (): void => {
        while (res.write(chunk)) {
          /* fill the buffer */
        }
      };
      res.on('drain', more);
      more();
      return;
    }
    res.writeHead(404).end();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});

after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function oneLineExit2(r: { status: number | null; stdout: string; stderr: string }, pattern: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, pattern);
}

test('a Prometheus that is down gives one line and exit 2', async () => {
  const port = await closedPort();
  oneLineExit2(
    await run(['gaps', '--prometheus', `http://127.0.0.1:${port}`]),
    /cannot connect \(ECONNREFUSED\)/,
  );
});

test('a Prometheus that does not answer in time gives one line and exit 2', async () => {
  oneLineExit2(
    await run(['gaps', '--prometheus', `${base}/slow`, '--timeout', '1s']),
    /no answer within 1 s/,
  );
});

test('an HTTP 500 gives one line with the server and its error, and exit 2', async () => {
  oneLineExit2(
    await run(['gaps', '--prometheus', `${base}/fail`]),
    /Prometheus at .*\/fail: the query failed \(HTTP 500\): storage exploded/,
  );
});

test('an answer that is not Prometheus JSON gives one line and exit 2', async () => {
  oneLineExit2(await run(['gaps', '--prometheus', `${base}/html`]), /not Prometheus JSON/);
});

test('an empty result gives one line saying there are no sockscope metrics, and exit 2', async () => {
  oneLineExit2(
    await run(['gaps', '--prometheus', `${base}/empty`, '--service', 'api']),
    /no sockscope metrics for service api in the last 1h/,
  );
});

test('an answer without end is cut at the size bound, with one line and exit 2', async () => {
  oneLineExit2(await run(['gaps', '--prometheus', `${base}/huge`]), /larger than \d+ bytes/);
});

test('a selector that is not a label matcher is refused before any query', async () => {
  oneLineExit2(
    await run(['gaps', '--prometheus', base, '--selector', 'job="a"} or vector(1']),
    /--selector .* is not a label matcher/,
  );
});

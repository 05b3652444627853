/**
 * WebSocket after an HTTP/1.1 upgrade: frames from hand-built bytes through the HTTP recogniser
 * (masking, fragmentation, control frames, frames behind the 101), an upgrade to anything else
 * ending recognition, and the real `ws` client and server on loopback through the whole tap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { configure, reset, spans, waitFor } from '../helpers/otel';
import { exchanges } from '../integration/support';
import { replay } from './replay';
import { c, s } from './chunks';

const UPGRADE = 'GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n';
const SWITCHED = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n';
const SECRET = 'ws-payload-S3CR3T';

/** A client frame (masked) or server frame (unmasked). */
function frame(opcode: number, payload: string, { fin = true, masked = true } = {}): Buffer {
  const data = Buffer.from(payload, 'latin1');
  const len = data.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const h = Buffer.alloc(2 + ext + (masked ? 4 : 0));
  h[0] = (fin ? 0x80 : 0) | opcode;
  h[1] = (masked ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) h.writeUInt16BE(len, 2);
  if (ext === 8) h.writeUInt32BE(len, 6);
  if (!masked) return Buffer.concat([h, data]);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  key.copy(h, 2 + ext);
  const body = Buffer.from(data.map((b, i) => b ^ key[i % 4]));
  return Buffer.concat([h, body]);
}

test('after 101 with Upgrade: websocket, client frames are named by kind and the connection is websocket', () => {
  const r = replay([
    c(UPGRADE),
    s(SWITCHED),
    c(frame(1, `hello ${SECRET}`)),
    s(frame(1, 'echo', { masked: false })),
    c(frame(2, 'x'.repeat(70_000))),
    c(frame(9, '')),
    s(frame(10, '', { masked: false })),
    c(frame(10, 'pong')),
    c(frame(8, '\x03\xe8bye')),
  ]);
  assert.deepEqual(r.events, [
    '> GET',
    '<',
    '> TEXT (oneway)',
    '> BINARY (oneway)',
    '> PING (oneway)',
    '> PONG (oneway)',
    '> CLOSE (oneway)',
  ]);
  assert.equal(r.parser?.protocol, 'websocket');
  assert.equal(r.parser?.version, '13');
  assert.equal(r.parser?.framed, false, 'exchanges end by idle timing: no request/response pairing');
  assert.ok(!JSON.stringify(r.requests).includes(SECRET), 'no payload');
});

test('a fragmented message is named once, and again only when its continuation follows server bytes', () => {
  const r = replay([
    c(UPGRADE),
    s(SWITCHED),
    c(frame(1, 'part1', { fin: false })),
    c(frame(9, '')), // a control frame may sit between fragments
    c(frame(0, 'part2', { fin: false })),
    s(frame(10, '', { masked: false })),
    c(frame(0, 'part3')),
    c(frame(2, 'b')),
  ]);
  assert.deepEqual(r.events, [
    '> GET',
    '<',
    '> TEXT (oneway)',
    '> PING (oneway)',
    '> TEXT (oneway)',
    '> BINARY (oneway)',
  ]);
});

test('frames sent in the same chunk as the 101 are read as WebSocket, and the 101 still ends the HTTP exchange', () => {
  const r = replay([
    c(UPGRADE),
    s(Buffer.concat([Buffer.from(SWITCHED), frame(1, 'welcome', { masked: false })])),
    c(frame(1, 'hi')),
  ]);
  assert.deepEqual(r.events, ['> GET', '<', '> TEXT (oneway)']);
  assert.equal(r.parser?.protocol, 'websocket');
});

test('an unmasked client frame or a reserved opcode ends recognition without naming anything', () => {
  const unmasked = replay([c(UPGRADE), s(SWITCHED), c(frame(1, 'x', { masked: false })), c(frame(1, 'y'))]);
  assert.deepEqual(unmasked.events, ['> GET', '<']);
  const reserved = replay([c(UPGRADE), s(SWITCHED), c(frame(3, 'x')), c(frame(1, 'y'))]);
  assert.deepEqual(reserved.events, ['> GET', '<']);
});

test('an upgrade to another protocol ends recognition: no protocol, no requests, not misparsed HTTP', () => {
  const r = replay([
    c('GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n'),
    s('HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n'),
    c('GET /not-http HTTP/1.1\r\n\r\n'),
    s('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'),
  ]);
  assert.deepEqual(r.events, ['> GET', '<']);
  assert.equal(r.parser?.protocol, undefined);
  assert.equal(r.parser?.framed, false);
});

test('a refused WebSocket upgrade stays HTTP and keeps pairing', () => {
  const r = replay([
    c(UPGRADE),
    s('HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n'),
    c('GET /b HTTP/1.1\r\nHost: h\r\n\r\n'),
    s('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'),
  ]);
  assert.deepEqual(r.events, ['> GET', '<', '> GET', '<']);
  assert.equal(r.parser?.protocol, 'http');
});

test('ws client and server on loopback: the upgrade is "http GET", then websocket TEXT/BINARY/PING/CLOSE exchanges, no payload', async (t) => {
  configure();
  reset();
  const { WebSocket, WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  t.after(() => wss.close());
  wss.on('connection', (sock) => sock.on('message', (data, binary) => sock.send(data, { binary })));
  const port = (wss.address() as AddressInfo).port;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  await new Promise<void>((r, j) => ws.once('open', () => r()).once('error', j));
  const reply = (): Promise<void> => new Promise((r) => ws.once('message', () => r()));
  let got = reply();
  ws.send(`text ${SECRET}`);
  await got;
  got = reply();
  ws.send(Buffer.from(SECRET));
  await got;
  const pong = new Promise<void>((r) => ws.once('pong', () => r()));
  ws.ping();
  await pong;
  const closed = new Promise<void>((r) => ws.once('close', () => r()));
  ws.close(1000, SECRET);
  await closed;
  const want = ['http GET', 'websocket TEXT', 'websocket BINARY', 'websocket PING', 'websocket CLOSE'];
  await waitFor(() => want.every((n) => exchanges().some((x) => x.name === n)), 3000, want.join(', '));
  const mine = exchanges().filter((x) => x.attributes['server.port'] === port);
  assert.deepEqual(
    mine.map((x) => x.name),
    want,
  );
  for (const x of mine.slice(1)) {
    assert.equal(x.attributes['network.protocol.name'], 'websocket');
    assert.equal(x.attributes['network.protocol.version'], '13');
  }
  assert.equal(mine[0].attributes['http.response.status_code'], 101);
  const text = JSON.stringify(spans().map((x) => ({ n: x.name, a: x.attributes, e: x.events, s: x.status })));
  assert.equal(text.includes(SECRET), false, 'no payload in any span');
});

test('a real upgrade to another protocol: the later bytes are a "tcp exchange", not HTTP', async (t) => {
  configure();
  reset();
  const server = http.createServer();
  server.on('upgrade', (_req, socket) => {
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: sockscope-echo\r\nConnection: Upgrade\r\n\r\n',
    );
    socket.on('data', (d) => socket.write(d));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const socket = await new Promise<import('node:net').Socket>((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      headers: { Connection: 'Upgrade', Upgrade: 'sockscope-echo' },
    });
    req.on('upgrade', (_res, sock) => resolve(sock));
    req.on('error', reject);
    req.end();
  });
  await new Promise<void>((r) => {
    socket.once('data', () => r());
    socket.write('GET /inside HTTP/1.1\r\n\r\n');
  });
  socket.destroy();
  await waitFor(
    () => exchanges().filter((x) => x.attributes['server.port'] === port).length >= 2,
    3000,
    'two exchanges',
  );
  const mine = exchanges().filter((x) => x.attributes['server.port'] === port);
  assert.deepEqual(
    mine.map((x) => x.name),
    ['http GET', 'tcp exchange'],
  );
  assert.equal(mine[1].attributes['network.protocol.name'], undefined);
});

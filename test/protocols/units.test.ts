/**
 * Unit tests per protocol on realistic hand-built bytes: edge cases the real-peer tests do not
 * reach (RESP3 pushes, chunked HTTP, 1xx, SSL negotiation, TLS SNI, memcached text, ...).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tlsModule from 'node:tls';
import * as net from 'node:net';
import { RECOGNISERS, detect } from '../../src/protocols';
import type { RecordedChunk } from '../helpers/recording-proxy';
import { answered, replay, split } from './replay';

const c = (s: string | Buffer): RecordedChunk => ({
  dir: 'client',
  data: Buffer.from(s as string, 'latin1'),
});
const s = (x: string | Buffer): RecordedChunk => ({
  dir: 'server',
  data: Buffer.from(x as string, 'latin1'),
});
const none = Buffer.alloc(0);

test('detect() names every protocol from its opening bytes and nothing from noise', () => {
  const cases: [string, Partial<{ client: Buffer; server: Buffer; port: number; alpn: string }>][] = [
    ['http', { client: Buffer.from('GET /x HTTP/1.1\r\n') }],
    ['http', { client: Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n') }],
    ['http', { alpn: 'h2' }],
    ['redis', { client: Buffer.from('*1\r\n$4\r\nPING\r\n') }],
    ['memcached', { client: Buffer.from('get foo\r\n') }],
    ['amqp', { client: Buffer.from('AMQP\x00\x00\x09\x01', 'latin1') }],
    ['nats', { server: Buffer.from('INFO {"server_id":"x"}\r\n') }],
    ['smtp', { server: Buffer.from('220 mx.example.com ESMTP ready\r\n') }],
    ['smtp', { server: Buffer.from('220 ready\r\n'), port: 25 }],
  ];
  for (const [want, input] of cases) {
    const r = detect({ client: none, server: none, port: 0, ...input });
    assert.equal(r?.name, want, JSON.stringify(input));
  }
  assert.equal(detect({ client: Buffer.from('hello world\r\n'), server: none, port: 0 }), undefined);
  assert.equal(detect({ client: none, server: Buffer.from('220 ProFTPD ready\r\n'), port: 21 }), undefined);
  assert.equal(detect({ client: none, server: none, port: 0 }), undefined);
  assert.equal(RECOGNISERS.length, 12);
});

test('HTTP/2 via preface or ALPN is version 2 and unframed', () => {
  const r = replay([c('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')]);
  assert.equal(r.protocol, 'http');
  assert.equal(r.parser?.version, '2');
  assert.equal(r.parser?.framed, false);
  const a = replay([c(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]))], 443, 'h2');
  assert.equal(a.parser?.version, '2');
});

test('HTTP/1.1 pipelined requests, chunked bodies, 100-continue and HEAD pair in order', () => {
  const body = '5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n';
  const r = replay([
    c(`POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n${body}`),
    c('HEAD /b HTTP/1.1\r\nHost: h\r\n\r\nDELETE /c HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc'),
    s('HTTP/1.1 100 Continue\r\n\r\n'),
    s('HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n'),
    s('0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n'),
    s('HTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\nno'),
  ]);
  assert.deepEqual(r.events, ['> POST', '> HEAD', '> DELETE', '<', '<', '< http.500']);
  assert.deepEqual(
    r.responses.map((x) => x.attributes?.['http.response.status_code']),
    [201, 200, 500],
  );
  assert.equal(r.requests[0].attributes?.['http.request.method'], 'POST');
  assert.equal(r.parser?.framed, true);
});

test('HTTP responses delimited by close, or with Connection: close, end framing', () => {
  const a = replay([c('GET / HTTP/1.0\r\n\r\n'), s('HTTP/1.0 200 OK\r\n\r\nbody until close')]);
  assert.deepEqual(a.events, ['> GET']);
  assert.equal(a.parser?.framed, false);
  assert.equal(a.parser?.version, '1.0');
  const b = replay([
    c('GET / HTTP/1.1\r\n\r\n'),
    s('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx'),
  ]);
  assert.deepEqual(b.events, ['> GET', '<']);
  assert.equal(b.parser?.framed, false);
});

test('HTTP 101 upgrade reports the response, then WebSocket frames follow unframed', () => {
  const r = replay([
    c('GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'),
    s('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n'),
    c(Buffer.from([0x81, 0x85, 1, 2, 3, 4, 5, 6, 7, 8, 9])),
  ]);
  // Issue 15: the frame after the upgrade is WebSocket's (it was unnamed before).
  assert.deepEqual(r.events, ['> GET', '<', '> TEXT (oneway)']);
  assert.equal(r.parser?.protocol, 'websocket');
  assert.equal(r.parser?.framed, false);
});

test('a ClientHello inside a plain socket is tls with its SNI, then unframed', async () => {
  // Capture a real ClientHello from Node's TLS client against a listener that never answers.
  const hello = await new Promise<Buffer>((resolve) => {
    const server = net.createServer((sock) => {
      sock.once('data', (d) => {
        resolve(Buffer.from(d));
        sock.destroy();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      const t = tlsModule.connect({ host: '127.0.0.1', port, servername: 'db.example.internal' });
      t.on('error', () => {});
    });
  });
  const r = replay([c(hello), s(Buffer.from([0x16, 3, 3, 0, 10]))]);
  assert.equal(r.protocol, 'tls');
  assert.deepEqual(r.events, ['> handshake']);
  assert.equal(r.requests[0].attributes?.['tls.server.name'], 'db.example.internal');
  assert.equal(r.parser?.framed, false);
});

test('PostgreSQL SSLRequest answered N continues in plain text; answered S stops framing', () => {
  const ssl = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
  const startup = Buffer.concat([
    Buffer.from([0, 0, 0, 0, 0, 3, 0, 0]),
    Buffer.from('user\0postgres\0database\0test\0\0'),
  ]);
  startup.writeInt32BE(startup.length, 0);
  const z = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]);
  const q = Buffer.concat([Buffer.from([0x51, 0, 0, 0, 0]), Buffer.from('  /* hi */ select 1\0')]);
  q.writeInt32BE(q.length - 1, 1);
  const plain = replay([c(ssl), s('N'), c(startup), s(z), c(q), s(z)]);
  assert.deepEqual(plain.events, ['> STARTUP', '<', '> SELECT', '<']);
  const enc = replay([c(ssl), s('S'), c(Buffer.from([0x16, 3, 1, 0, 5, 1, 0, 0, 1, 0]))]);
  assert.deepEqual(enc.events, []);
  assert.equal(enc.parser?.framed, false);
});

test('PostgreSQL FATAL authentication errors end the startup request', () => {
  const startup = Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 3, 0, 0]), Buffer.from('user\0bob\0\0')]);
  startup.writeInt32BE(startup.length, 0);
  const fields = 'SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user "bob"\0\0';
  const e = Buffer.concat([Buffer.from([0x45, 0, 0, 0, 0]), Buffer.from(fields)]);
  e.writeInt32BE(e.length - 1, 1);
  const r = replay([c(startup), s(e)]);
  assert.deepEqual(r.events, ['> STARTUP', '< postgresql.28P01']);
});

test('Redis RESP3: pushes and attributes are not replies; nested maps count once', () => {
  const r = replay([
    c('*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n'),
    s('%2\r\n+server\r\n+redis\r\n+proto\r\n:3\r\n'),
    s('>3\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n_\r\n'),
    s('|1\r\n+ttl\r\n:5\r\n$5\r\nvalue\r\n'),
    s('!21\r\nSYNTAX invalid syntax\r\n'),
  ]);
  assert.deepEqual(r.events, ['> HELLO', '> GET', '> PING', '<', '<', '< redis.SYNTAX']);
});

test('Redis RESP3 subscribe confirmations arrive as pushes and answer SUBSCRIBE', () => {
  const r = replay([
    c('*3\r\n$9\r\nSUBSCRIBE\r\n$1\r\na\r\n$1\r\nb\r\n'),
    s('>3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n>3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n'),
    s('>3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n'),
    c('*1\r\n$4\r\nPING\r\n'),
    s('+PONG\r\n'),
  ]);
  assert.deepEqual(r.events, ['> SUBSCRIBE', '<', '> PING', '<']);
});

test('Redis inline commands and large bulk values split across chunks are framed', () => {
  const big = 'x'.repeat(100_000);
  const data = Buffer.from(
    `*1\r\n$4\r\nPING\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${big.length}\r\n${big}\r\n`,
  );
  const reply = Buffer.from(`+PONG\r\n+PONG\r\n*2\r\n$${big.length}\r\n${big}\r\n:1\r\n`);
  const r = replay([...split(data, 1000).map(c), ...split(reply, 999).map(s)]);
  assert.deepEqual(r.events, ['> PING', '> PING', '> SET', '<', '<', '<']);
  assert.equal(r.parser?.framed, true);
});

test('memcached text: get with values, set with data, noreply, errors and quit', () => {
  const r = replay([
    c('get a b\r\n'),
    s(
      'VALUE a 0 5\r\nEND\r\nVALUE b 0 3\r\nabc\r\nEND\r\n'.replace(
        'VALUE a 0 5\r\nEND\r\n',
        'VALUE a 0 5\r\nhello\r\n',
      ),
    ),
    c('set k 0 0 10\r\n0123456789\r\nset q 0 0 1 noreply\r\nx\r\nincr n 1\r\n'),
    s('STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n'),
    c('bogus\r\n'),
  ]);
  assert.deepEqual(r.events, [
    '> get',
    '<',
    '> set',
    '> set (oneway)',
    '> incr',
    '<',
    '< memcached.CLIENT_ERROR',
  ]);
  assert.equal(r.parser?.framed, false, 'an unknown command stops framing');
});

test('memcached meta commands: VA replies carry a data block', () => {
  const r = replay([c('mg foo v\r\nms bar 2 T60\r\nhi\r\nmn\r\n'), s('VA 2\r\nhi\r\nHD\r\nMN\r\n')]);
  assert.deepEqual(r.events, ['> mg', '> ms', '> mn', '<', '<', '<']);
  const q = replay([c('mg foo v q\r\n')]);
  assert.equal(q.parser?.framed, false, 'quiet mode is not framed');
});

test('NATS verbose mode pairs +OK/-ERR; MSG payloads are skipped', () => {
  const r = replay([
    s('INFO {"server_id":"x","max_payload":1048576}\r\n'),
    c('CONNECT {"verbose":true,"pedantic":false,"user":"u","pass":"p"}\r\nPING\r\n'),
    s('+OK\r\nPONG\r\n'),
    c('SUB foo 1\r\nPUB foo 5\r\n+OK\r\n\r\n'),
    s('+OK\r\nMSG foo 1 5\r\n+OK\r\n\r\n+OK\r\n'),
    c('PUB bar 0\r\n\r\n'),
    s("-ERR 'Permissions Violation'\r\n"),
  ]);
  assert.deepEqual(r.events, [
    '> CONNECT',
    '> PING (heartbeat)',
    '<',
    '> SUB',
    '> PUB',
    '<',
    '<',
    '> PUB',
    '< nats.ERR',
  ]);
});

test('MQTT CONNACK refusal and SUBACK failure codes become errors', () => {
  const connect = Buffer.from([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, 0]);
  const subscribe = Buffer.from([0x82, 6, 0, 1, 0, 1, 0x61, 1]);
  const r = replay([
    c(connect),
    s(Buffer.from([0x20, 2, 0, 0])),
    c(subscribe),
    s(Buffer.from([0x90, 3, 0, 1, 0x80])),
    c(Buffer.from([0xc0, 0])),
    s(Buffer.from([0xd0, 0])),
  ]);
  assert.deepEqual(r.events, ['> CONNECT', '<', '> SUBSCRIBE', '< mqtt.128', '> PINGREQ (heartbeat)']);
  const refused = replay([c(connect), s(Buffer.from([0x20, 2, 0, 5]))]);
  assert.deepEqual(refused.events, ['> CONNECT', '< mqtt.5']);
});

test('AMQP heartbeats from the client are heartbeats; server heartbeats are not responses', () => {
  const hb = Buffer.from([8, 0, 0, 0, 0, 0, 0, 0xce]);
  const r = replay([c('AMQP\x00\x00\x09\x01'), c(hb), s(hb)]);
  assert.deepEqual(r.events, ['> connect', '> heartbeat (heartbeat)']);
  assert.equal(r.parser?.version, '0.9.1');
});

test('Kafka responses with an unexpected correlation id stop framing', () => {
  const req = Buffer.from([0, 0, 0, 14, 0, 18, 0, 0, 0, 0, 0, 7, 0, 3, 0x61, 0x70, 0x70, 0]);
  const res = Buffer.from([0, 0, 0, 6, 0, 0, 0, 8, 0, 0]);
  const r = replay([c(req), s(res)], 9092);
  assert.deepEqual(r.events, ['> ApiVersions']);
  assert.equal(r.parser?.framed, false);
  const ok = Buffer.from([0, 0, 0, 6, 0, 0, 0, 7, 0, 35]);
  const r2 = replay([c(req), s(ok)], 9092);
  assert.deepEqual(r2.events, ['> ApiVersions', '< kafka.35']);
});

test('every parser returns frozen empty results for nothing and never shares a response array', () => {
  for (const r of RECOGNISERS) {
    const p = r.createParser({ client: none, server: none, port: 0 });
    const a = p.onClientBytes(none);
    const b = p.onServerBytes(none);
    assert.equal(a.length, 0);
    assert.equal(b.length, 0);
  }
  const p = detect({ client: Buffer.from('*1\r\n$4\r\nPING\r\n'), server: none, port: 0 })!.createParser({
    client: none,
    server: none,
    port: 0,
  });
  p.onClientBytes(Buffer.from('*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n'));
  const one = p.onServerBytes(Buffer.from('+PONG\r\n'));
  const two = p.onServerBytes(Buffer.from('+PONG\r\n'));
  assert.notEqual(one, two);
  assert.equal(answered(replay([])).length, 0);
});

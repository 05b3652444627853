/**
 * Operation names come from a fixed vocabulary per protocol: a secret-shaped unknown operation sent
 * through each recogniser never becomes an operation or attribute value; where the protocol still
 * frames it, it is named `_OTHER`. The Redis case also runs through the whole tap with ioredis.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configure, reset, spans, waitFor } from '../helpers/otel';
import { requireService } from '../helpers/services';
import { HOST, exchanges } from '../integration/support';
import { httpMethod } from '../../src/protocols/http-methods';
import { replay, type Replay } from './replay';
import { c, s, myPkt, myGreeting, myLogin, myOk } from './chunks';

const SECRET = 'S3CR3TOPNAME';

/** The secret (any case) appears in no request or response the parser reported. */
function assertNoSecret(r: Replay): void {
  // `shape` is only ever digested (sockscope.statement.hash), never recorded.
  const requests = r.requests.map((q) => ({ ...q, shape: undefined }));
  const text = JSON.stringify({ q: requests, s: r.responses }).toLowerCase();
  assert.ok(!text.includes(SECRET.toLowerCase()), `${r.protocol} leaked the operation: ${text}`);
}

/** The last request is the unknown one, named `_OTHER`, and the parser still frames. */
function assertOther(r: Replay, protocol: string): void {
  assert.equal(r.protocol, protocol);
  assertNoSecret(r);
  const last = r.requests[r.requests.length - 1];
  assert.equal(last?.operation, '_OTHER', r.events.join(' | '));
  for (const v of Object.values(last.attributes ?? {})) assert.notEqual(String(v).toUpperCase(), SECRET);
}

const resp = (...args: string[]): string =>
  `*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join('')}`;

test('httpMethod() keeps the ten known methods and turns anything else, or another case, into _OTHER', () => {
  for (const m of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY'])
    assert.equal(httpMethod(m), m);
  for (const m of [SECRET, 'get', 'PROPFIND', '', 'G'.repeat(10_000)]) assert.equal(httpMethod(m), '_OTHER');
});

test('HTTP/1: an unknown method on a known connection is _OTHER and the exchange still pairs', () => {
  const r = replay([
    c('GET / HTTP/1.1\r\nHost: h\r\n\r\n'),
    s('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'),
    c(`${SECRET} /x HTTP/1.1\r\nHost: h\r\n\r\n`),
    s('HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n'),
  ]);
  assertOther(r, 'http');
  assert.equal(r.responses.length, 2);
  assert.equal(r.requests[1].attributes?.['http.request.method'], '_OTHER');
});

test('Redis: a command outside the command table is _OTHER, its reply still pairs, known ones keep their name', () => {
  const r = replay([
    c(resp('GET', 'k') + resp(SECRET, 'arg') + resp('HGETALL', 'h')),
    s(`$-1\r\n-ERR unknown command '${SECRET}'\r\n*0\r\n`),
  ]);
  assert.deepEqual(r.events, ['> GET', '> _OTHER', '> HGETALL', '<', '< redis.ERR', '<']);
  assert.equal(r.requests[1].attributes?.['db.operation.name'], '_OTHER');
  assertNoSecret(r);
  // Inline commands go through the same table.
  const inline = replay([c(resp('PING')), s('+PONG\r\n'), c(`${SECRET} a b\r\n`), s('-ERR x\r\n')]);
  assertOther(inline, 'redis');
});

function pgMsg(type: string, body: string): Buffer {
  const b = Buffer.concat([Buffer.from(type), Buffer.alloc(4), Buffer.from(body, 'latin1')]);
  b.writeInt32BE(b.length - 1, 1);
  return b;
}

test('PostgreSQL: a statement whose first word is no SQL keyword is _OTHER (simple and extended)', () => {
  const startup = Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 3, 0, 0]), Buffer.from('user\0u\0\0')]);
  startup.writeInt32BE(startup.length, 0);
  const ready = pgMsg('Z', 'I');
  const simple = replay([c(startup), s(ready), c(pgMsg('Q', `${SECRET} everything\0`)), s(ready)]);
  assertOther(simple, 'postgresql');
  const extended = replay([
    c(startup),
    s(ready),
    c(Buffer.concat([pgMsg('P', `\0${SECRET} 1\0\0\0`), pgMsg('B', '\0\0\0\0\0\0\0\0'), pgMsg('S', '')])),
    s(ready),
  ]);
  assertOther(extended, 'postgresql');
});

test('MySQL: a COM_QUERY whose first word is no SQL keyword is _OTHER; an unknown command byte names nothing', () => {
  const r = replay([
    s(myGreeting),
    c(myLogin),
    s(myOk(2)),
    c(myPkt(0, Buffer.concat([Buffer.from([3]), Buffer.from(`${SECRET} 1`)]))),
    s(myOk(1)),
  ]);
  assertOther(r, 'mysql');
  const unknown = replay([
    s(myGreeting),
    c(myLogin),
    s(myOk(2)),
    c(myPkt(0, Buffer.concat([Buffer.from([0x7f]), Buffer.from(SECRET)]))),
  ]);
  assertNoSecret(unknown);
  assert.deepEqual(unknown.events, ['> CONNECT', '<']);
});

test('memcached (text and binary): an unknown command names no request', () => {
  const text = replay([c('get k\r\n'), s('END\r\n'), c(`${SECRET.toLowerCase()} k\r\n`), s('ERROR\r\n')]);
  assert.equal(text.protocol, 'memcached');
  assertNoSecret(text);
  assert.deepEqual(text.events, ['> get', '<']);
  const hdr = (op: number): Buffer => {
    const b = Buffer.alloc(24);
    b[0] = 0x80;
    b[1] = op;
    return b;
  };
  const bin = replay([c(hdr(0x0a)), c(Buffer.concat([hdr(0x7e), Buffer.from(SECRET)]))]);
  assert.equal(bin.protocol, 'memcached');
  assertNoSecret(bin);
  assert.deepEqual(bin.events, ['> noop']);
});

/** A minimal BSON document `{ <key>: 1 }`. */
function bsonDoc(key: string): Buffer {
  const body = Buffer.concat([
    Buffer.from([0x10]),
    Buffer.from(`${key}\0`),
    Buffer.from([1, 0, 0, 0]),
    Buffer.from([0]),
  ]);
  const len = Buffer.alloc(4);
  len.writeInt32LE(body.length + 4);
  return Buffer.concat([len, body]);
}
function opMsg(key: string, id: number): Buffer {
  const doc = bsonDoc(key);
  const h = Buffer.alloc(21);
  h.writeInt32LE(21 + doc.length, 0);
  h.writeInt32LE(id, 4);
  h.writeInt32LE(2013, 12);
  return Buffer.concat([h, doc]);
}

test('MongoDB: a command document whose first key is no known command is _OTHER', () => {
  const r = replay([c(opMsg('ping', 1)), s(opMsg('ok', 2)), c(opMsg(SECRET, 3)), s(opMsg('ok', 4))]);
  assert.deepEqual(r.events, ['> ping', '<', '> _OTHER', '<']);
  assertOther(r, 'mongodb');
});

function amqpMethod(cls: number, method: number): Buffer {
  const b = Buffer.alloc(12 + SECRET.length);
  b[0] = 1;
  b.writeUInt32BE(4 + SECRET.length, 3);
  b.writeUInt16BE(cls, 7);
  b.writeUInt16BE(method, 9);
  b.write(SECRET, 11, 'latin1');
  b[11 + SECRET.length] = 0xce;
  return b;
}

test('AMQP: an unknown class/method names no request', () => {
  const r = replay([c('AMQP\x00\x00\x09\x01'), c(amqpMethod(999, 999))]);
  assert.equal(r.protocol, 'amqp');
  assertNoSecret(r);
  assert.deepEqual(r.events, ['> connect']);
});

test('MQTT: packet types come from the fixed table; a reserved type names no request', () => {
  const connect = Buffer.from('\x10\x10\x00\x04MQTT\x04\x02\x00\x3c\x00\x04abcd', 'latin1');
  const r = replay([c(connect), c(Buffer.concat([Buffer.from([0x00, SECRET.length]), Buffer.from(SECRET)]))]);
  assert.equal(r.protocol, 'mqtt');
  assertNoSecret(r);
  assert.deepEqual(r.events, ['> CONNECT']);
});

test('NATS: an unknown verb names no request', () => {
  const r = replay([s('INFO {}\r\n'), c('CONNECT {}\r\n'), c(`${SECRET} x\r\n`)]);
  assert.equal(r.protocol, 'nats');
  assertNoSecret(r);
  assert.deepEqual(r.events, ['> CONNECT (oneway)']);
});

test('Kafka: an api key outside the table names no request', () => {
  const api = (key: number): Buffer => {
    const b = Buffer.alloc(14 + SECRET.length);
    b.writeInt32BE(10 + SECRET.length, 0);
    b.writeInt16BE(key, 4);
    b.writeInt16BE(SECRET.length, 12);
    b.write(SECRET, 14, 'latin1');
    return b;
  };
  const r = replay([c(api(18)), c(api(30000))]);
  assert.equal(r.protocol, 'kafka');
  assertNoSecret(r);
  assert.deepEqual(r.events, ['> ApiVersions']);
});

test('SMTP: an unknown verb is _OTHER and its reply still pairs', () => {
  const r = replay([
    s('220 mx ESMTP\r\n'),
    c('EHLO me\r\n'),
    s('250 mx\r\n'),
    c(`${SECRET} x\r\n`),
    s('502 5.5.2 Error: command not recognized\r\n'),
  ]);
  assert.deepEqual(r.events, ['> EHLO', '<', '> _OTHER', '< smtp.502']);
  assertOther(r, 'smtp');
});

test('TLS: the ClientHello is always "handshake", whatever it carries', () => {
  const hello = Buffer.concat([
    Buffer.from([0x16, 3, 1, 0, 60, 1, 0, 0, 56, 3, 3]),
    Buffer.from(SECRET.repeat(5)),
  ]);
  const r = replay([c(hello)]);
  assert.equal(r.protocol, 'tls');
  assertNoSecret(r);
  assert.deepEqual(r.events, ['> handshake']);
});

test('ioredis call(S3CR3TREDISCMD) is the span "redis _OTHER" and the command appears in no attribute', async (t) => {
  if (!(await requireService(t, 'Redis', HOST, 6379))) return;
  configure();
  reset();
  const { default: Redis } = await import('ioredis');
  const client = new Redis({ host: HOST, port: 6379, lazyConnect: true, maxRetriesPerRequest: 0 });
  t.after(() => client.disconnect());
  await client.connect();
  await assert.rejects(client.call('S3CR3TREDISCMD'));
  await client.ping();
  await waitFor(() => exchanges().some((x) => x.name === 'redis PING'), 3000, 'the PING exchange');
  const names = exchanges().map((x) => x.name);
  assert.ok(names.includes('redis _OTHER'), names.join(', '));
  const text = JSON.stringify(
    spans().map((x) => ({ name: x.name, attributes: x.attributes, status: x.status })),
  );
  assert.equal(text.toUpperCase().includes('S3CR3TREDISCMD'), false, text);
});

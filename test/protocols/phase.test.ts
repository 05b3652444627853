/**
 * Every recogniser classes each request as setup, operation, teardown or heartbeat, so that a gap
 * report can tell the application's operations from connection chatter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordedChunk } from '../helpers/recording-proxy';
import { replay } from './replay';
import { c, s, myPkt, myGreeting, myLogin, myOk } from './chunks';

const resp = (...args: string[]): string =>
  `*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join('')}`;

/** `operation:phase` for each request the parser reported. */
function phases(chunks: RecordedChunk[]): string[] {
  return replay(chunks).requests.map((q) => `${q.operation}:${q.phase}`);
}

function pgMsg(type: string, body: string): Buffer {
  const b = Buffer.concat([Buffer.from(type), Buffer.alloc(4), Buffer.from(body, 'latin1')]);
  b.writeInt32BE(b.length - 1, 1);
  return b;
}

test('PostgreSQL: STARTUP is setup, queries are operations, TERMINATE is teardown', () => {
  const startup = Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 3, 0, 0]), Buffer.from('user\0u\0\0')]);
  startup.writeInt32BE(startup.length, 0);
  assert.deepEqual(
    phases([
      c(startup),
      s(pgMsg('Z', 'I')),
      c(pgMsg('Q', 'SELECT 1\0')),
      s(pgMsg('Z', 'I')),
      c(pgMsg('X', '')),
    ]),
    ['STARTUP:setup', 'SELECT:operation', 'TERMINATE:teardown'],
  );
});

test('Redis: HELLO, AUTH, SELECT and CLIENT SETNAME are setup, PING heartbeat, QUIT teardown, the rest operations', () => {
  assert.deepEqual(
    phases([
      c(
        resp('HELLO', '3') +
          resp('AUTH', 'u', 'p') +
          resp('SELECT', '1') +
          resp('CLIENT', 'SETNAME', 'n') +
          resp('CLIENT', 'LIST') +
          resp('GET', 'k') +
          resp('PING') +
          resp('QUIT'),
      ),
    ]),
    [
      'HELLO:setup',
      'AUTH:setup',
      'SELECT:setup',
      'CLIENT:setup',
      'CLIENT:operation',
      'GET:operation',
      'PING:heartbeat',
      'QUIT:teardown',
    ],
  );
});

function amqp(cls: number, method: number, channel = 1): Buffer {
  const b = Buffer.alloc(12);
  b[0] = 1;
  b.writeUInt16BE(channel, 1);
  b.writeUInt32BE(4, 3);
  b.writeUInt16BE(cls, 7);
  b.writeUInt16BE(method, 9);
  b[11] = 0xce;
  return b;
}

test('AMQP: the header, connection.* and channel.open are setup, heartbeats heartbeat, closes teardown', () => {
  assert.deepEqual(
    phases([
      c('AMQP\x00\x00\x09\x01'),
      c(
        Buffer.concat([
          amqp(10, 11, 0), // connection.start-ok
          amqp(10, 31, 0), // connection.tune-ok
          amqp(10, 40, 0), // connection.open
          amqp(20, 10), // channel.open
          amqp(85, 10), // confirm.select
          amqp(50, 10), // queue.declare
          amqp(60, 40), // basic.publish
          Buffer.from([8, 0, 0, 0, 0, 0, 0, 0xce]), // heartbeat
          amqp(20, 40), // channel.close
          amqp(10, 50, 0), // connection.close
          amqp(10, 51, 0), // connection.close-ok
        ]),
      ),
    ]),
    [
      'connect:setup',
      'connection.start-ok:setup',
      'connection.tune-ok:setup',
      'connection.open:setup',
      'channel.open:setup',
      'confirm.select:setup',
      'queue.declare:operation',
      'basic.publish:operation',
      'heartbeat:heartbeat',
      'channel.close:teardown',
      'connection.close:teardown',
      'connection.close-ok:teardown',
    ],
  );
});

test('MQTT: CONNECT is setup, PINGREQ heartbeat, DISCONNECT teardown, PUBLISH and SUBSCRIBE operations', () => {
  const connect = Buffer.from('\x10\x10\x00\x04MQTT\x04\x02\x00\x3c\x00\x04abcd', 'latin1');
  assert.deepEqual(
    phases([
      c(connect),
      c(Buffer.from([0x30, 3, 0, 1, 0x74])), // QoS 0 PUBLISH to "t"
      c(Buffer.from([0x82, 6, 0, 1, 0, 1, 0x74, 0])), // SUBSCRIBE
      c(Buffer.from([0xc0, 0])), // PINGREQ
      c(Buffer.from([0xe0, 0])), // DISCONNECT
    ]),
    ['CONNECT:setup', 'PUBLISH:operation', 'SUBSCRIBE:operation', 'PINGREQ:heartbeat', 'DISCONNECT:teardown'],
  );
});

test('MySQL: the handshake response is setup, COM_PING heartbeat, COM_QUIT teardown, COM_QUERY an operation', () => {
  const greeting = myGreeting;
  const login = myLogin;
  const ok = myOk;
  assert.deepEqual(
    phases([
      s(greeting),
      c(login),
      s(ok(2)),
      c(myPkt(0, Buffer.from('\x03SELECT 1'))),
      s(ok(1)),
      c(myPkt(0, Buffer.from([0x0e]))),
      s(ok(1)),
      c(myPkt(0, Buffer.from([0x01]))),
    ]),
    ['CONNECT:setup', 'SELECT:operation', 'PING:heartbeat', 'QUIT:teardown'],
  );
});

test('NATS: CONNECT is setup, PING/PONG heartbeats, PUB and SUB operations', () => {
  assert.deepEqual(
    phases([s('INFO {}\r\n'), c('CONNECT {}\r\nSUB a 1\r\nPUB a 1\r\nx\r\nPING\r\nPONG\r\n')]),
    ['CONNECT:setup', 'SUB:operation', 'PUB:operation', 'PING:heartbeat', 'PONG:heartbeat'],
  );
});

test('SMTP: EHLO, AUTH and STARTTLS are setup, NOOP heartbeat, QUIT teardown, MAIL/RCPT/DATA operations', () => {
  assert.deepEqual(
    phases([
      s('220 mx ESMTP\r\n'),
      c('EHLO me\r\n'),
      s('250 mx\r\n'),
      c('AUTH PLAIN AGEAYg==\r\n'),
      s('235 ok\r\n'),
      c('MAIL FROM:<a@b>\r\n'),
      s('250 ok\r\n'),
      c('NOOP\r\n'),
      s('250 ok\r\n'),
      c('QUIT\r\n'),
    ]),
    ['EHLO:setup', 'AUTH:setup', 'MAIL:operation', 'NOOP:heartbeat', 'QUIT:teardown'],
  );
});

function bson(key: string): Buffer {
  const body = Buffer.concat([Buffer.from([0x10]), Buffer.from(`${key}\0`), Buffer.from([1, 0, 0, 0, 0])]);
  const len = Buffer.alloc(4);
  len.writeInt32LE(body.length + 4);
  return Buffer.concat([len, body]);
}
function opMsg(key: string): Buffer {
  const doc = bson(key);
  const h = Buffer.alloc(21);
  h.writeInt32LE(21 + doc.length, 0);
  h.writeInt32LE(2013, 12);
  return Buffer.concat([h, doc]);
}

test('MongoDB: the first hello and SASL are setup, later hellos and ping heartbeats, endSessions teardown', () => {
  const ok = s(opMsg('ok'));
  assert.deepEqual(
    phases([
      c(opMsg('hello')),
      ok,
      c(opMsg('saslStart')),
      ok,
      c(opMsg('find')),
      ok,
      c(opMsg('hello')),
      ok,
      c(opMsg('ping')),
      ok,
      c(opMsg('endSessions')),
    ]),
    [
      'hello:setup',
      'saslStart:setup',
      'find:operation',
      'hello:heartbeat',
      'ping:heartbeat',
      'endSessions:teardown',
    ],
  );
});

test('memcached binary: SASL is setup, quit teardown, get an operation', () => {
  const hdr = (op: number): Buffer => {
    const b = Buffer.alloc(24);
    b[0] = 0x80;
    b[1] = op;
    return b;
  };
  assert.deepEqual(phases([c(Buffer.concat([hdr(0x21), hdr(0x00), hdr(0x07)]))]), [
    'sasl_auth:setup',
    'get:operation',
    'quit:teardown',
  ]);
});

test('Kafka: ApiVersions and SASL are setup, Heartbeat heartbeat, LeaveGroup teardown, Metadata an operation', () => {
  const api = (key: number, corr: number): Buffer => {
    const b = Buffer.alloc(14);
    b.writeInt32BE(10, 0);
    b.writeInt16BE(key, 4);
    b.writeInt32BE(corr, 8);
    b.writeInt16BE(-1, 12);
    return b;
  };
  assert.deepEqual(phases([c(Buffer.concat([api(18, 1), api(3, 2), api(12, 3), api(13, 4)]))]), [
    'ApiVersions:setup',
    'Metadata:operation',
    'Heartbeat:heartbeat',
    'LeaveGroup:teardown',
  ]);
});

test('HTTP requests are operations; a TLS ClientHello is setup; WebSocket PING/PONG heartbeat, CLOSE teardown', () => {
  assert.deepEqual(phases([c('GET / HTTP/1.1\r\nHost: h\r\n\r\n')]), ['GET:operation']);
  assert.deepEqual(phases([c(Buffer.from([0x16, 3, 1, 0, 4, 1, 0, 0, 0]))]), ['handshake:setup']);
  const f = (op: number): Buffer => Buffer.from([0x80 | op, 0x80, 1, 2, 3, 4]);
  assert.deepEqual(
    phases([
      c('GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n'),
      s('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n'),
      c(Buffer.concat([f(1), f(9), f(10), f(8)])),
    ]),
    ['GET:operation', 'TEXT:operation', 'PING:heartbeat', 'PONG:heartbeat', 'CLOSE:teardown'],
  );
});

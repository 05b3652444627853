/**
 * Privacy at parser level: bytes carrying passwords, tokens, cookies, SQL literals, keys, topics
 * and bodies go through the parsers; no secret may appear in any operation or attribute value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordedChunk } from '../helpers/recording-proxy';
import { replay } from './replay';
import { c, s } from './chunks';

const SECRET = 'S3cretValue';
const resp = (...args: string[]): string =>
  `*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join('')}`;

function assertClean(chunks: RecordedChunk[], port = 0): void {
  const r = replay(chunks, port);
  assert.ok(r.protocol, 'recognised');
  assert.ok(r.requests.length > 0, 'saw requests');
  const text = JSON.stringify({ q: r.requests, s: r.responses }).toLowerCase();
  for (const secret of [SECRET, Buffer.from(SECRET).toString('base64'), 'alice', 'topic-name', 'sekrit']) {
    assert.ok(!text.includes(secret.toLowerCase()), `${r.protocol} leaked ${secret}: ${text}`);
  }
}

test('Redis AUTH, HELLO AUTH and key/value arguments never appear in operations or attributes', () => {
  assertClean([
    c(
      resp('AUTH', 'alice', SECRET) +
        resp('HELLO', '3', 'AUTH', 'alice', SECRET) +
        resp('SET', 'sekrit', SECRET),
    ),
    s('-WRONGPASS invalid username-password pair or user is disabled.\r\n+OK\r\n+OK\r\n'),
  ]);
});

test('PostgreSQL user names, password messages and SQL literals are not recorded', () => {
  const startup = Buffer.concat([
    Buffer.from([0, 0, 0, 0, 0, 3, 0, 0]),
    Buffer.from('user\0alice\0database\0sekrit\0\0'),
  ]);
  startup.writeInt32BE(startup.length, 0);
  const msg = (type: string, body: string): Buffer => {
    const b = Buffer.concat([Buffer.from(type), Buffer.alloc(4), Buffer.from(body, 'latin1')]);
    b.writeInt32BE(b.length - 1, 1);
    return b;
  };
  assertClean([
    c(startup),
    s(msg('R', '\0\0\0\x03')),
    c(msg('p', `${SECRET}\0`)),
    s(Buffer.concat([msg('R', '\0\0\0\0'), msg('Z', 'I')])),
    c(msg('Q', `SELECT * FROM accounts WHERE password = '${SECRET}'\0`)),
    s(msg('Z', 'I')),
    c(
      Buffer.concat([
        msg('P', `\0UPDATE t SET pw = '${SECRET}'\0\0\0`),
        msg('B', '\0\0\0\0\0\0\0\0'),
        msg('S', ''),
      ]),
    ),
    s(msg('E', `SERROR\0VERROR\0C42501\0Mpermission denied for ${SECRET}\0\0`)),
    s(msg('Z', 'I')),
  ]);
});

test('MySQL queries with literals are named by keyword only', () => {
  const pkt = (seq: number, payload: Buffer): Buffer =>
    Buffer.concat([Buffer.from([payload.length & 0xff, payload.length >> 8, 0, seq]), payload]);
  const greeting = pkt(
    0,
    Buffer.concat([
      Buffer.from([10]),
      Buffer.from('10.11.6-MariaDB\0'),
      Buffer.alloc(4),
      Buffer.alloc(8, 1),
      Buffer.from([0, 0xff, 0xf7, 8, 2, 0, 0xff, 0x81, 21]),
      Buffer.alloc(10),
      Buffer.alloc(13, 2),
      Buffer.from('mysql_native_password\0'),
    ]),
  );
  const login = pkt(
    1,
    Buffer.concat([
      Buffer.from([0x0d, 0xa2, 0x0b, 0x01]),
      Buffer.alloc(28),
      Buffer.from(`alice\0\x14${SECRET}123456789\0`),
    ]),
  );
  assertClean([
    s(greeting),
    c(login),
    s(pkt(2, Buffer.from([0, 0, 0, 2, 0, 0, 0]))),
    c(
      pkt(
        0,
        Buffer.concat([Buffer.from([3]), Buffer.from(`INSERT INTO users VALUES ('alice', '${SECRET}')`)]),
      ),
    ),
    s(pkt(1, Buffer.from([0, 1, 0, 2, 0, 0, 0]))),
  ]);
});

test('HTTP Authorization, Cookie, URL query and body are not recorded', () => {
  assertClean([
    c(
      `POST /login?token=${SECRET} HTTP/1.1\r\nHost: alice.example\r\nAuthorization: Bearer ${SECRET}\r\n` +
        `Cookie: session=${SECRET}\r\nContent-Length: ${SECRET.length}\r\n\r\n${SECRET}`,
    ),
    s(`HTTP/1.1 200 OK\r\nSet-Cookie: s=${SECRET}\r\nContent-Length: 6\r\n\r\nsekrit`),
  ]);
});

test('SMTP AUTH credentials, addresses and message bodies are not recorded', () => {
  const plain = Buffer.from(`\0alice\0${SECRET}`).toString('base64');
  assertClean([
    s('220 mx ESMTP\r\n'),
    c('EHLO alice.example\r\n'),
    s('250-mx\r\n250 AUTH PLAIN LOGIN\r\n'),
    c(`AUTH PLAIN ${plain}\r\n`),
    s('235 ok\r\n'),
    c('AUTH LOGIN\r\n'),
    s('334 VXNlcm5hbWU6\r\n'),
    c(`${Buffer.from('alice').toString('base64')}\r\n`),
    s('334 UGFzc3dvcmQ6\r\n'),
    c(`${Buffer.from(SECRET).toString('base64')}\r\n`),
    s('235 ok\r\n'),
    c('MAIL FROM:<alice@example.com>\r\n'),
    s('250 ok\r\n'),
  ]);
});

test('NATS CONNECT credentials and subjects, AMQP PLAIN login, MQTT CONNECT password are not recorded', () => {
  assertClean([
    s('INFO {"auth_required":true}\r\n'),
    c(`CONNECT {"user":"alice","pass":"${SECRET}","verbose":false}\r\nPUB topic-name 6\r\nsekrit\r\n`),
  ]);
  const plain = `\0alice\0${SECRET}`;
  const args = Buffer.concat([
    Buffer.from([0, 0, 0, 0]), // client properties (empty table)
    Buffer.from([5]),
    Buffer.from('PLAIN'),
    Buffer.from([0, 0, 0, plain.length]),
    Buffer.from(plain),
    Buffer.from([5]),
    Buffer.from('en_US'),
  ]);
  const payload = Buffer.concat([Buffer.from([0, 10, 0, 11]), args]);
  const frame = Buffer.concat([
    Buffer.from([1, 0, 0, 0, 0, 0, payload.length]),
    payload,
    Buffer.from([0xce]),
  ]);
  assertClean([c('AMQP\x00\x00\x09\x01'), c(frame)]);
  const user = Buffer.from('alice');
  const pass = Buffer.from(SECRET);
  const vh = Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0xc2, 0, 60]);
  const body = Buffer.concat([
    vh,
    Buffer.from([0, 2]),
    Buffer.from('id'),
    Buffer.from([0, user.length]),
    user,
    Buffer.from([0, pass.length]),
    pass,
  ]);
  assertClean([c(Buffer.concat([Buffer.from([0x10, body.length]), body]))]);
});

test('memcached keys and values are not recorded', () => {
  assertClean([
    c(`set sekrit 0 0 ${SECRET.length}\r\n${SECRET}\r\nget sekrit\r\n`),
    s(`STORED\r\nVALUE sekrit 0 3\r\nabc\r\nEND\r\n`),
  ]);
});

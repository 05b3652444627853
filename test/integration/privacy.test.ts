/**
 * Privacy through the whole tap: real clients send passwords, auth headers, cookies, SQL literals,
 * keys, values, subjects and bodies through sockscope, and none of them appears anywhere in any
 * exported span: names, attribute keys and values, events, links, status messages, resource and
 * scope, both as the SDK holds them and as the OTLP/JSON serialiser writes them. Each secret is
 * also looked for hex- and base64-encoded. Every test first checks that sockscope did see and name
 * the exchange carrying the secret, so a pass cannot come from the bytes never being tapped.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { beforeEach, test } from 'node:test';
import { postgresql } from '../../src/protocols';
import { configure, reset, spans, waitFor } from '../helpers/otel';
import { requireService } from '../helpers/services';
import { startServer } from '../helpers/servers';
import { otlpJsonLine } from '../helpers/spans';
import { HOST, exchanges, tag } from './support';

beforeEach(() => {
  configure();
  reset();
});

/** A recognisable secret: nothing sockscope records could contain it by chance. */
const secret = (what: string): string => `sockscope-secret-${what}-${tag()}`;

/** Everything every exported span carries, in two serialisations. */
function exportedText(): string {
  const all = spans();
  const sdk = all.map((s) => ({
    name: s.name,
    kind: s.kind,
    scope: s.instrumentationScope,
    resource: s.resource.attributes,
    attributes: s.attributes,
    events: s.events.map((e) => ({ name: e.name, attributes: e.attributes })),
    links: s.links.map((l) => ({ context: l.context, attributes: l.attributes })),
    status: s.status,
  }));
  return `${JSON.stringify(sdk)}\n${otlpJsonLine(all)}`;
}

function assertNowhere(secrets: string[]): void {
  const text = exportedText();
  for (const s of secrets) {
    const forms = [s, s.toLowerCase(), Buffer.from(s).toString('hex'), Buffer.from(s).toString('base64')];
    for (const f of forms) assert.equal(text.includes(f), false, `secret ${s} appears in the exported spans`);
  }
}

function names(): string[] {
  return exchanges().map((s) => s.name);
}

test('Redis AUTH, HELLO AUTH and SET key/value: no password, key or value appears in any span', async (t) => {
  if (!(await requireService(t, 'Redis', HOST, 6379))) return;
  const { default: Redis } = await import('ioredis');
  const [optionPassword, authPassword, aclPassword, helloPassword] = ['opt', 'auth', 'acl', 'hello'].map(
    secret,
  );
  const key = `sockscope:${secret('key')}`;
  const value = secret('value');
  const field = secret('field');
  // The server has no password: ioredis's AUTH on connect fails (it warns and carries on) and so do
  // the explicit ones, but the bytes still carry each password.
  const c = new Redis({ host: HOST, port: 6379, lazyConnect: true, password: optionPassword });
  t.after(async () => {
    await c.del(key, `${key}:h`).catch(() => {});
    c.disconnect();
  });
  await c.connect();
  await assert.rejects(c.call('AUTH', authPassword));
  await assert.rejects(c.call('AUTH', 'sockscope-user', aclPassword));
  await c.call('HELLO', '2', 'AUTH', 'default', helloPassword).catch(() => undefined);
  await c.set(key, value);
  assert.equal(await c.get(key), value);
  await c.hset(`${key}:h`, field, value);
  await c.pipeline().get(key).hget(`${key}:h`, field).exec();
  await c.del(key, `${key}:h`);
  await waitFor(() => names().filter((n) => n === 'redis AUTH').length === 3, 3000, 'three AUTH exchanges');
  await waitFor(() => names().includes('redis DEL'));
  for (const n of ['redis HELLO', 'redis SET', 'redis GET', 'redis HSET']) assert.ok(names().includes(n), n);
  assertNowhere([optionPassword, authPassword, aclPassword, helloPassword, key, value, field]);
  // The check itself sees span names and attribute values: it would catch a leak.
  assert.throws(() => assertNowhere(['redis AUTH']), /appears/);
  assert.throws(() => assertNowhere(['ioredis']), /appears/);
});

test('a MySQL password login, CREATE USER ... IDENTIFIED BY, string literals and bound values appear in no span', async (t) => {
  if (!(await requireService(t, 'MariaDB', HOST, 3306))) return;
  const mysql = await import('mysql2/promise');
  const user = `sockscope_t_${tag()}`;
  const password = secret('mysql-password');
  const wrongPassword = secret('mysql-wrong');
  const literal = secret('literal');
  const bound = secret('bound');
  const root = await mysql.createConnection({ host: HOST, port: 3306, user: 'root', database: 'test' });
  t.after(async () => {
    await root.query(`DROP USER IF EXISTS '${user}'@'%'`).catch(() => {});
    await root.end().catch(() => {});
  });
  // The password crosses the wire in plain text here, inside the statement's string literal.
  await root.query(`CREATE USER IF NOT EXISTS '${user}'@'%' IDENTIFIED BY '${password}'`);

  // mysql_native_password: the handshake response carries a scramble of the password, never the
  // password itself; both the login and the statements after it must leave nothing behind.
  const c = await mysql.createConnection({ host: HOST, port: 3306, user, password });
  const [rows] = await c.query(`SELECT '${literal}' AS s`);
  assert.deepEqual(rows, [{ s: literal }]);
  await c.execute('SELECT ? AS b', [bound]);
  await c.end();
  await assert.rejects(mysql.createConnection({ host: HOST, port: 3306, user, password: wrongPassword }), {
    errno: 1045,
  });
  await waitFor(() => names().filter((n) => n === 'mysql CONNECT').length === 3, 3000, 'three logins');
  for (const n of ['mysql CREATE', 'mysql SELECT', 'mysql PREPARE']) assert.ok(names().includes(n), n);
  assert.ok(
    exchanges().some((s) => s.name === 'mysql CONNECT' && s.attributes['error.type'] === 'mysql.1045'),
    'the failed login is an error',
  );
  assertNowhere([password, wrongPassword, literal, bound, user]);
});

test('PostgreSQL startup parameters, string literals and bound values appear in no span', async (t) => {
  if (!(await requireService(t, 'PostgreSQL', HOST, 5432))) return;
  // The machine's PostgreSQL trusts local connections, so no password is ever asked for or sent
  // here; the password message is covered by the next two tests against a scripted server.
  const { Client } = await import('pg');
  const appName = secret('app').slice(0, 60);
  const literal = secret('literal');
  const bound = secret('bound');
  const c = new Client({
    host: HOST,
    port: 5432,
    user: 'postgres',
    database: 'test',
    application_name: appName,
  });
  t.after(() => c.end().catch(() => {}));
  await c.connect();
  assert.equal((await c.query(`SELECT '${literal}' AS s`)).rows[0].s, literal);
  assert.equal((await c.query('SELECT $1::text AS b', [bound])).rows[0].b, bound);
  await assert.rejects(c.query(`SELECT * FROM "${literal}"`));
  await waitFor(() => names().filter((n) => n === 'postgresql SELECT').length === 3, 3000, 'three queries');
  assert.ok(names().includes('postgresql STARTUP'));
  assertNowhere([appName, literal, bound]);
});

/** Backend messages for the scripted server. */
function backend(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const int32 = (...n: number[]): Buffer =>
  Buffer.concat(n.map((v) => Buffer.from([v >>> 24, v >>> 16, v >>> 8, v])));

/**
 * A PostgreSQL server that asks for a password (cleartext, code 3, or MD5, code 5 with a salt),
 * accepts whatever comes, and answers ReadyForQuery; enough for `pg.Client#connect()` and `end()`.
 * It records the password message it received, to prove the secret was on the wire.
 */
async function scriptedPasswordServer(method: 'cleartext' | 'md5'): Promise<{
  port: number;
  received: Buffer[];
  close(): Promise<void>;
}> {
  const received: Buffer[] = [];
  const peer = await startServer((s) => {
    let startup = true;
    s.on('data', (d: Buffer) => {
      received.push(d);
      if (startup) {
        startup = false;
        s.write(
          method === 'cleartext'
            ? backend('R', int32(3))
            : backend('R', Buffer.concat([int32(5), Buffer.from([1, 2, 3, 4])])),
        );
      } else if (d[0] === 0x70 /* p */) {
        s.write(Buffer.concat([backend('R', int32(0)), backend('Z', Buffer.from('I'))]));
      } else if (d[0] === 0x58 /* X Terminate */) {
        s.end();
      }
    });
  });
  return { port: peer.port, received, close: () => peer.close() };
}

for (const method of ['cleartext', 'md5'] as const) {
  test(`a pg ${method} password message through the tap appears in no span`, async (t) => {
    const server = await scriptedPasswordServer(method);
    t.after(() => server.close());
    const { Client } = await import('pg');
    const password = secret(`pg-${method}`);
    const c = new Client({ host: HOST, port: server.port, user: 'sockscope_user', database: 'db', password });
    await c.connect();
    await c.end();
    const wire = Buffer.concat(server.received);
    const inner = createHash('md5').update(`${password}sockscope_user`).digest('hex');
    const outer = createHash('md5')
      .update(Buffer.concat([Buffer.from(inner), Buffer.from([1, 2, 3, 4])]))
      .digest('hex');
    const sent = method === 'cleartext' ? password : `md5${outer}`;
    assert.ok(wire.includes(sent), 'the password message was on the wire');
    await waitFor(() => names().includes('postgresql TERMINATE'), 3000, 'the session ended');
    assert.equal(names()[0], 'postgresql STARTUP', 'the login was tapped and recognised');
    assertNowhere([password, sent]);
  });
}

test('the postgresql parser fed a StartupMessage and a password message reports STARTUP and nothing of the password', () => {
  const password = secret('parser');
  const params = Buffer.from('user\0alice\0database\0db\0\0');
  const startup = Buffer.concat([int32(params.length + 8, 0x00030000), params]);
  const pw = Buffer.from(`${password}\0`);
  const passwordMessage = Buffer.concat([Buffer.from('p'), int32(pw.length + 4), pw]);
  const parser = postgresql.createParser({ client: startup, server: Buffer.alloc(0), port: 5432 });
  const started = parser.onClientBytes(startup);
  const asked = parser.onServerBytes(backend('R', int32(3)));
  const answered = parser.onClientBytes(passwordMessage);
  const ready = parser.onServerBytes(Buffer.concat([backend('R', int32(0)), backend('Z', Buffer.from('I'))]));
  const out = [started, asked, answered, ready];
  assert.deepEqual(
    out.map((x) => x.length),
    [1, 0, 0, 1],
    'the password message continues the startup request; ReadyForQuery answers it',
  );
  assert.equal(started[0].operation, 'STARTUP');
  assert.equal(ready[0].error, undefined);
  assert.equal(parser.framed, true);
  assert.equal(JSON.stringify(out).includes(password), false);
  assert.equal(JSON.stringify(out).includes('alice'), false);
});

test('HTTP Authorization, cookies, URL, headers and bodies (node:http and fetch) appear in no span', async (t) => {
  const bearer = secret('bearer');
  const cookie = secret('cookie');
  const basicUser = `u${tag()}`;
  const basicPassword = secret('basic');
  const pathPart = secret('path');
  const query = secret('query');
  const reqBody = secret('request-body');
  const setCookie = secret('set-cookie');
  const header = secret('response-header');
  const resBody = secret('response-body');
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('Set-Cookie', `sid=${setCookie}; HttpOnly`);
      res.setHeader('X-Sockscope-Token', header);
      res.end(resBody);
    });
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  t.after(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  const port = (server.address() as AddressInfo).port;
  const path = `/account/${pathPart}?token=${query}`;
  const agent = new http.Agent({ keepAlive: true });
  t.after(() => agent.destroy());
  const viaHttp = (headers: http.OutgoingHttpHeaders, auth?: string) =>
    new Promise<string>((resolve, reject) => {
      const req = http.request({ host: HOST, port, method: 'POST', path, agent, headers, auth }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end(reqBody);
    });
  assert.equal(await viaHttp({ Authorization: `Bearer ${bearer}`, Cookie: `session=${cookie}` }), resBody);
  assert.equal(await viaHttp({}, `${basicUser}:${basicPassword}`), resBody);
  const res = await fetch(`http://${HOST}:${port}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${bearer}`, Cookie: `session=${cookie}` },
    body: reqBody,
  });
  assert.equal(await res.text(), resBody);
  await waitFor(() => names().filter((n) => n === 'http POST').length === 3, 3000, 'three requests');
  assertNowhere([
    bearer,
    cookie,
    `${basicUser}:${basicPassword}`,
    pathPart,
    query,
    reqBody,
    setCookie,
    header,
    resBody,
  ]);
});

test('MQTT credentials, topics and payloads appear in no span', async (t) => {
  if (!(await requireService(t, 'Mosquitto', HOST, 1883))) return;
  const mqtt = await import('mqtt');
  const username = secret('mqtt-user');
  const password = secret('mqtt-password');
  const topic = `sockscope/${secret('topic')}`;
  const payload = secret('payload');
  const c = await mqtt.connectAsync(`mqtt://${HOST}:1883`, { username, password, reconnectPeriod: 0 });
  t.after(() => c.endAsync(true).catch(() => {}));
  await c.subscribeAsync(topic, { qos: 1 });
  const got = new Promise<string>((r) => c.once('message', (_t, m) => r(m.toString())));
  await c.publishAsync(topic, payload, { qos: 1 });
  assert.equal(await got, payload);
  await c.endAsync();
  await waitFor(() => names().includes('mqtt DISCONNECT'), 3000, 'the session ended');
  for (const n of ['mqtt CONNECT', 'mqtt SUBSCRIBE', 'mqtt PUBLISH']) assert.ok(names().includes(n), n);
  assertNowhere([username, password, topic, payload]);
});

test('NATS credentials, subjects, reply inboxes and payloads appear in no span', async (t) => {
  if (!(await requireService(t, 'NATS', HOST, 4222))) return;
  const { connect, StringCodec } = await import('nats');
  const sc = StringCodec();
  const subject = `sockscope.${secret('subject')}`;
  const payload = secret('payload');
  const reply = secret('reply');
  const token = secret('nats-token');
  const nc = await connect({ servers: `${HOST}:4222`, name: token });
  t.after(() => nc.close().catch(() => {}));
  const sub = nc.subscribe(subject);
  void (async () => {
    for await (const m of sub) m.respond(sc.encode(reply));
  })();
  const answer = await nc.request(subject, sc.encode(payload), { timeout: 2000 });
  assert.equal(sc.decode(answer.data), reply);
  nc.publish(subject, sc.encode(payload));
  await nc.flush();
  await nc.close();
  await waitFor(() => spans().some((s) => s.attributes['sockscope.kind'] === 'connection'), 3000, 'closed');
  for (const n of ['nats CONNECT', 'nats PUB']) assert.ok(names().includes(n), n);
  assertNowhere([subject, payload, reply, token]);
});

test('AMQP queue names, message headers and bodies appear in no span', async (t) => {
  if (!(await requireService(t, 'RabbitMQ', HOST, 5672))) return;
  const amqplib = await import('amqplib');
  const queue = secret('queue');
  const body = secret('body');
  const headerValue = secret('header');
  const conn = await amqplib.connect(`amqp://guest:guest@${HOST}:5672`);
  t.after(() => conn.close().catch(() => {}));
  const ch = await conn.createChannel();
  await ch.assertQueue(queue, { exclusive: true, autoDelete: true });
  ch.sendToQueue(queue, Buffer.from(body), {
    headers: { 'x-sockscope': headerValue },
    correlationId: headerValue,
  });
  let msg: Awaited<ReturnType<typeof ch.get>> = false;
  while (msg === false) msg = await ch.get(queue, { noAck: true });
  assert.equal(msg.content.toString(), body);
  await ch.deleteQueue(queue);
  await conn.close();
  await waitFor(() => names().includes('amqp connection.close'), 3000, 'the connection closed');
  for (const n of ['amqp queue.declare', 'amqp basic.publish', 'amqp basic.get', 'amqp queue.delete'])
    assert.ok(names().includes(n), n);
  assertNowhere([queue, body, headerValue]);
});

/**
 * Real clients against the machine's real servers, through a recording proxy; the recorded chunks
 * are replayed into the parsers. Each test also replays the same bytes cut into 7-byte pieces and
 * expects the same events, so chunk boundaries cannot change the outcome.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startRecordingProxy, type RecordedConnection } from '../helpers/recording-proxy';
import { requireService } from '../helpers/services';
import { answered, rechunk, replay, type Replay } from './replay';

const HOST = '127.0.0.1';

async function recorded(
  port: number,
  run: (proxyPort: number) => Promise<void>,
): Promise<RecordedConnection[]> {
  const proxy = await startRecordingProxy({ target: { host: HOST, port } });
  try {
    await run(proxy.port);
    await Promise.race([
      Promise.all(proxy.connections.map((c) => c.closed)),
      new Promise((r) => setTimeout(r, 300)),
    ]);
    return proxy.connections;
  } finally {
    await proxy.close();
  }
}

/** Replays whole and re-chunked, asserts both agree, and that requests and responses pair up. */
function check(conn: RecordedConnection, port: number, expectPaired = true): Replay {
  const whole = replay(conn.chunks, port);
  const pieces = replay(rechunk(conn.chunks, 7), port);
  assert.deepEqual(pieces.events, whole.events, 'same events whatever the chunking');
  if (expectPaired) {
    assert.equal(whole.responses.length, answered(whole).length, `paired: ${whole.events.join(' | ')}`);
    assert.equal(whole.parser?.framed, true, 'still framed');
  }
  return whole;
}

test('pg simple and extended queries are named by keyword, errors carry the SQLSTATE', async (t) => {
  if (!(await requireService(t, 'PostgreSQL', HOST, 5432))) return;
  const { Client } = await import('pg');
  const conns = await recorded(5432, async (port) => {
    const c = new Client({ host: HOST, port, user: 'postgres', database: 'test' });
    await c.connect();
    await c.query('SELECT 1');
    await c.query('SELECT $1::int AS x', [5]);
    await c.query({ name: 'stmt1', text: 'SELECT $1::int AS y', values: [1] });
    await c.query({ name: 'stmt1', text: 'SELECT $1::int AS y', values: [2] });
    await assert.rejects(c.query('SELECT * FROM sockscope_missing_table'));
    await assert.rejects(c.query('INSERT INTO sockscope_missing_table VALUES ($1)', [1]));
    await c.query('BEGIN');
    await c.query('CREATE TEMP TABLE t1 (a int)');
    await c.query('INSERT INTO t1 VALUES (1), (2)');
    await c.query('COMMIT');
    await c.end();
  });
  assert.equal(conns.length, 1);
  const r = check(conns[0], 5432, false);
  assert.equal(r.protocol, 'postgresql');
  assert.deepEqual(r.events, [
    '> STARTUP',
    '<',
    '> SELECT',
    '<',
    '> SELECT',
    '<',
    '> SELECT',
    '<',
    // Issue 15: a later execution of the named statement stmt1 is named by its operation, not EXECUTE.
    '> SELECT',
    '<',
    '> SELECT',
    '< postgresql.42P01',
    '> INSERT',
    '< postgresql.42P01',
    '> BEGIN',
    '<',
    '> CREATE',
    '<',
    '> INSERT',
    '<',
    '> COMMIT',
    '<',
    '> TERMINATE (oneway)',
  ]);
  assert.equal(r.responses.length, answered(r).length);
  assert.equal(r.requests[1].attributes?.['db.system.name'], 'postgresql');
  assert.equal(r.requests[1].attributes?.['db.operation.name'], 'SELECT');
});

test('pg: eight runs of one named prepared statement all carry its operation and statement shape', async (t) => {
  if (!(await requireService(t, 'PostgreSQL', HOST, 5432))) return;
  const { Client } = await import('pg');
  const conns = await recorded(5432, async (port) => {
    const c = new Client({ host: HOST, port, user: 'postgres', database: 'test' });
    await c.connect();
    for (let i = 0; i < 8; i++)
      await c.query({ name: 'by_id', text: 'SELECT $1::int AS id, $2::text AS label', values: [i, `v${i}`] });
    await c.query({ name: 'other', text: 'SELECT $1::int + 1 AS n', values: [1] });
    await c.end();
  });
  const r = check(conns[0], 5432);
  const runs = r.requests.filter((q) => q.operation === 'SELECT');
  assert.equal(runs.length, 9, r.events.join(' | '));
  const shapes = new Set(runs.slice(0, 8).map((q) => q.shape));
  assert.equal(shapes.size, 1, 'one statement, one shape');
  assert.equal(runs[0].shape, 'select ?::int as id, ?::text as label', 'the SQL text only, up to its NUL');
  assert.notEqual(runs[8].shape, runs[0].shape, 'another statement, another shape');
  assert.ok(!r.events.includes('> EXECUTE'), r.events.join(' | '));
});

test('mysql2 execute: eight runs of one prepared statement are named SELECT with the same shape', async (t) => {
  if (!(await requireService(t, 'MariaDB', HOST, 3306))) return;
  const mysql = await import('mysql2/promise');
  const conns = await recorded(3306, async (port) => {
    const c = await mysql.createConnection({ host: HOST, port, user: 'root', database: 'test' });
    for (let i = 0; i < 8; i++) await c.execute('SELECT ? AS id, ? AS label', [i, `v${i}`]);
    await c.end();
  });
  const r = check(conns[0], 3306, false);
  assert.equal(r.events.filter((e) => e === '> PREPARE').length, 1, r.events.join(' | '));
  const runs = r.requests.filter((q) => q.operation === 'SELECT');
  assert.equal(runs.length, 8, r.events.join(' | '));
  assert.equal(new Set(runs.map((q) => q.shape)).size, 1);
  assert.equal(runs[0].shape, 'select ? as id, ? as label');
});

test('mariadb execute: a prepare pipelined with its first run, then seven runs, all carry the statement shape', async (t) => {
  if (!(await requireService(t, 'MariaDB', HOST, 3306))) return;
  const mariadb = await import('mariadb');
  const conns = await recorded(3306, async (port) => {
    const c = await mariadb.createConnection({ host: HOST, port, user: 'root', database: 'test' });
    for (let i = 0; i < 8; i++) await c.execute('SELECT ? AS id, ? AS label', [i, `v${i}`]);
    await c.end();
  });
  const r = check(conns[0], 3306, false);
  // The connector sends COM_STMT_PREPARE and COM_STMT_EXECUTE (statement id 0xffffffff, "the one
  // just prepared") in one write, then executes by the id the server returned.
  const joined = r.events.join(' | ');
  assert.equal(r.events.filter((e) => e === '> PREPARE').length, 1, joined);
  assert.ok(!r.events.includes('> EXECUTE'), joined);
  const runs = r.requests.filter((q) => q.operation === 'SELECT');
  assert.equal(runs.length, 8, joined);
  const prepare = r.requests.find((q) => q.operation === 'PREPARE')!;
  assert.deepEqual(new Set([prepare, ...runs].map((q) => q.shape)), new Set(['select ? as id, ? as label']));
});

test('mysql2 against MariaDB: handshake, queries, prepared statements, errors and ping pair up', async (t) => {
  if (!(await requireService(t, 'MariaDB', HOST, 3306))) return;
  const mysql = await import('mysql2/promise');
  const conns = await recorded(3306, async (port) => {
    const c = await mysql.createConnection({
      host: HOST,
      port,
      user: 'root',
      database: 'test',
      multipleStatements: true,
    });
    await c.query('SELECT 1 AS a UNION SELECT 2');
    await c.execute('SELECT ? AS x', [5]);
    await c.execute('SELECT ? AS x', [6]);
    await assert.rejects(c.query('SELECT * FROM sockscope_missing_table'));
    await c.query('SELECT 1; SELECT 2');
    await c.query('CREATE TEMPORARY TABLE t1 (a int)');
    await c.query('INSERT INTO t1 VALUES (1), (2)');
    await c.query('SELECT * FROM t1');
    await c.ping();
    await c.end();
  });
  const r = check(conns[0], 3306, false);
  assert.equal(r.protocol, 'mysql');
  assert.deepEqual(r.events, [
    '> CONNECT',
    '<',
    '> SELECT',
    '<',
    '> PREPARE',
    '<',
    '> SELECT',
    '<',
    '> SELECT',
    '<',
    '> SELECT',
    '< mysql.1146',
    '> SELECT',
    '<',
    '> CREATE',
    '<',
    '> INSERT',
    '<',
    '> SELECT',
    '<',
    '> PING',
    '<',
    '> QUIT (oneway)',
  ]);
});

test('mysql2 with a password login names the handshake CONNECT and pairs it', async (t) => {
  if (!(await requireService(t, 'MariaDB', HOST, 3306))) return;
  const mysql = await import('mysql2/promise');
  const conns = await recorded(3306, async (port) => {
    await assert.rejects(
      mysql.createConnection({ host: HOST, port, user: 'sockscope_nobody', password: 'hunter2-secret' }),
    );
  });
  const r = check(conns[0], 3306, false);
  assert.deepEqual(r.events, ['> CONNECT', '< mysql.1045']);
});

test('ioredis: commands, a pipeline, MULTI/EXEC, an error reply and pub/sub pair up', async (t) => {
  if (!(await requireService(t, 'Redis', HOST, 6379))) return;
  const { default: Redis } = await import('ioredis');
  const conns = await recorded(6379, async (port) => {
    const c = new Redis({ host: HOST, port, lazyConnect: true, enableReadyCheck: false });
    await c.connect();
    await c.set('sockscope:k', 'v');
    await c.get('sockscope:k');
    await c.pipeline().get('sockscope:a').set('sockscope:b', '1').incr('sockscope:c').exec();
    await c.multi().set('sockscope:x', '1').get('sockscope:x').exec();
    await assert.rejects(c.hset('sockscope:k', 'f', 'v'));
    const s = new Redis({ host: HOST, port, lazyConnect: true, enableReadyCheck: false });
    await s.connect();
    await s.subscribe('sockscope:ch1', 'sockscope:ch2');
    const got = new Promise((r) => s.once('message', r));
    await c.publish('sockscope:ch1', 'hello');
    await got;
    await s.unsubscribe();
    await s.ping();
    await s.quit();
    await c.del('sockscope:k', 'sockscope:b', 'sockscope:c', 'sockscope:x');
    await c.quit();
  });
  assert.equal(conns.length, 2);
  const main = check(conns[0], 6379);
  assert.equal(main.protocol, 'redis');
  const ops = main.requests.map((q) => q.operation).filter((o) => o !== 'CLIENT' && o !== 'INFO');
  assert.deepEqual(ops, [
    'SET',
    'GET',
    'GET',
    'SET',
    'INCR',
    'MULTI',
    'SET',
    'GET',
    'EXEC',
    'HSET',
    'PUBLISH',
    'DEL',
    'QUIT',
  ]);
  assert.ok(main.responses.some((x) => x.error === 'redis.WRONGTYPE'));
  const sub = check(conns[1], 6379);
  const subOps = sub.requests.map((q) => q.operation);
  assert.deepEqual(subOps.slice(subOps.indexOf('SUBSCRIBE')), ['SUBSCRIBE', 'UNSUBSCRIBE', 'PING', 'QUIT']);
});

test('amqplib: connection handshake, channel, declare, publish, get and a channel error', async (t) => {
  if (!(await requireService(t, 'RabbitMQ', HOST, 5672))) return;
  const amqplib = await import('amqplib');
  const conns = await recorded(5672, async (port) => {
    const conn = await amqplib.connect(`amqp://guest:guest@${HOST}:${port}`);
    const ch = await conn.createChannel();
    const q = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(q.queue, Buffer.from('body-secret'));
    await new Promise((r) => setTimeout(r, 50));
    const msg = await ch.get(q.queue);
    assert.ok(msg);
    ch.ack(msg);
    await ch.get(q.queue); // empty
    const ch2 = await conn.createChannel();
    ch2.on('error', () => {});
    await assert.rejects(ch2.checkQueue('sockscope-no-such-queue'));
    await ch.close();
    await conn.close();
  });
  const r = check(conns[0], 5672);
  assert.equal(r.protocol, 'amqp');
  assert.deepEqual(r.events, [
    '> connect',
    '<',
    '> connection.start-ok',
    '<',
    '> connection.tune-ok (oneway)',
    '> connection.open',
    '<',
    '> channel.open',
    '<',
    '> queue.declare',
    '<',
    '> basic.publish (oneway)',
    '> basic.get',
    '<',
    '> basic.ack (oneway)',
    '> basic.get',
    '<',
    '> channel.open',
    '<',
    '> queue.declare',
    '< amqp.404',
    '> channel.close-ok (oneway)',
    '> channel.close',
    '<',
    '> connection.close',
    '<',
  ]);
  assert.equal(r.requests[0].attributes?.['messaging.system'], 'rabbitmq');
});

test('mqtt.js against Mosquitto: CONNECT, SUBSCRIBE, QoS 0/1/2 PUBLISH, ping and DISCONNECT', async (t) => {
  if (!(await requireService(t, 'Mosquitto', HOST, 1883))) return;
  const mqtt = await import('mqtt');
  const conns = await recorded(1883, async (port) => {
    const c = await mqtt.connectAsync(`mqtt://${HOST}:${port}`, { protocolVersion: 4, keepalive: 60 });
    await c.subscribeAsync('sockscope/secret-topic', { qos: 1 });
    await c.publishAsync('sockscope/secret-topic', 'zero', { qos: 0 });
    await c.publishAsync('sockscope/secret-topic', 'one', { qos: 1 });
    await c.publishAsync('sockscope/secret-topic', 'two', { qos: 2 });
    await new Promise((r) => setTimeout(r, 100));
    await c.unsubscribeAsync('sockscope/secret-topic');
    await c.endAsync();
  });
  const r = check(conns[0], 1883);
  assert.equal(r.protocol, 'mqtt');
  assert.equal(r.parser?.version, '3.1.1');
  // The client also acknowledges its own deliveries (PUBACK one-way, PUBREC answered by PUBREL).
  const ops = r.events.filter(
    (e) => e.startsWith('>') && !e.startsWith('> PUBACK') && !e.startsWith('> PUBREC'),
  );
  assert.deepEqual(ops.slice(0, 6), [
    '> CONNECT',
    '> SUBSCRIBE',
    '> PUBLISH (oneway)',
    '> PUBLISH',
    '> PUBLISH',
    '> PUBREL',
  ]);
  assert.ok(ops.includes('> UNSUBSCRIBE'));
  assert.equal(ops[ops.length - 1], '> DISCONNECT (oneway)');
  assert.equal(r.requests[0].attributes?.['network.protocol.version'], '3.1.1');
});

test('mqtt.js v5 names the version 5', async (t) => {
  if (!(await requireService(t, 'Mosquitto', HOST, 1883))) return;
  const mqtt = await import('mqtt');
  const conns = await recorded(1883, async (port) => {
    const c = await mqtt.connectAsync(`mqtt://${HOST}:${port}`, { protocolVersion: 5 });
    await c.publishAsync('sockscope/v5', 'x', { qos: 1 });
    await c.endAsync();
  });
  const r = check(conns[0], 1883);
  assert.equal(r.parser?.version, '5');
  assert.deepEqual(r.events, ['> CONNECT', '<', '> PUBLISH', '<', '> DISCONNECT (oneway)']);
});

test('nats.js: INFO is detected, PUB is one-way, PING/PONG are heartbeats, MSG is no response', async (t) => {
  if (!(await requireService(t, 'NATS', HOST, 4222))) return;
  const { connect, StringCodec } = await import('nats');
  const conns = await recorded(4222, async (port) => {
    const nc = await connect({ servers: `${HOST}:${port}` });
    const sc = StringCodec();
    const sub = nc.subscribe('sockscope.secret.subject', { max: 1 });
    const got = (async () => {
      for await (const m of sub) return sc.decode(m.data);
    })();
    nc.publish('sockscope.secret.subject', sc.encode('payload'));
    assert.equal(await got, 'payload');
    await nc.flush();
    await nc.close();
  });
  const r = check(conns[0], 4222);
  assert.equal(r.protocol, 'nats');
  assert.equal(r.responses.length, 0);
  const ops = r.events;
  assert.equal(ops[0], '> CONNECT (oneway)');
  assert.ok(ops.includes('> PING (heartbeat)'));
  assert.ok(ops.includes('> SUB (oneway)'));
  assert.ok(ops.includes('> PUB (oneway)'));
});

test('node:http and fetch against a local server: methods, status codes, chunked, HEAD and 5xx', async () => {
  const server = http.createServer((req, res) => {
    if (req.url === '/fail') {
      res.statusCode = 503;
      res.end('down');
    } else if (req.url === '/chunked') {
      res.write('a'.repeat(1000));
      res.end('b'.repeat(3000));
    } else {
      req.resume();
      req.on('end', () => res.end('ok'));
    }
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  const port = (server.address() as AddressInfo).port;
  try {
    const conns = await recorded(port, async (p) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const get = (method: string, path: string, body?: string): Promise<number> =>
        new Promise((resolve, reject) => {
          const req = http.request({ host: HOST, port: p, method, path, agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
          req.end(body);
        });
      assert.equal(await get('GET', '/'), 200);
      assert.equal(await get('POST', '/', 'x'.repeat(5000)), 200);
      assert.equal(await get('HEAD', '/'), 200);
      assert.equal(await get('GET', '/chunked'), 200);
      assert.equal(await get('GET', '/fail'), 503);
      agent.destroy();
      const res = await fetch(`http://${HOST}:${p}/`, { method: 'PUT', body: 'abc' });
      await res.text();
    });
    const r = check(conns[0], port);
    assert.equal(r.protocol, 'http');
    // Node's agent does not reuse a socket after a HEAD response without a length: 3 connections.
    assert.equal(conns.length, 3);
    assert.deepEqual(r.events, ['> GET', '<', '> POST', '<', '> HEAD', '<']);
    assert.equal(r.requests[0].attributes?.['network.protocol.version'], '1.1');
    const r2 = check(conns[1], port);
    assert.deepEqual(r2.events, ['> GET', '<', '> GET', '< http.503']);
    assert.equal(r2.responses[1].attributes?.['http.response.status_code'], 503);
    const f = check(conns[2], port);
    assert.deepEqual(f.events, ['> PUT', '<']);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

/**
 * Real database clients (pg, mysql2, ioredis) against the machine's PostgreSQL, MariaDB and Redis,
 * through the whole tap: the exchange spans' names and attributes, and exchanges ending by the
 * protocol's framing (see `FRAMING_ONLY` in ./support).
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { configure, reset, waitFor } from '../helpers/otel';
import { requireService } from '../helpers/services';
import { FRAMING_ONLY, HOST, assertExchange, connectionOf, db, exchanges, step, tag } from './support';

beforeEach(() => {
  configure(FRAMING_ONLY);
  reset();
});

const PG = { host: HOST, port: 5432, user: 'postgres', database: 'test' };
const MARIADB = { host: HOST, port: 3306, user: 'root', database: 'test' };

const pgAttrs = (op: string) => db('postgresql', 'postgresql', op, '3.0');
const myAttrs = (op: string) => db('mysql', 'mysql', op);
const redisAttrs = (op: string) => db('redis', 'redis', op);

test('pg: the startup, simple, parameterised and transaction statements are postgresql exchanges ended by ReadyForQuery', async (t) => {
  if (!(await requireService(t, 'PostgreSQL', PG.host, PG.port))) return;
  const { Client } = await import('pg');
  const c = new Client(PG);
  t.after(() => c.end().catch(() => {}));

  const startup = await step('connect', 1, () => c.connect());
  assertExchange(startup.exchanges[0], 'postgresql STARTUP', pgAttrs('STARTUP'));

  const simple = await step('simple', 1, () => c.query('SELECT 1 AS one'));
  assert.equal(simple.result.rows[0].one, 1);
  assertExchange(simple.exchanges[0], 'postgresql SELECT', {
    ...pgAttrs('SELECT'),
    'sockscope.caller.package': 'pg',
  });

  // Parse/Bind/Describe/Execute/Sync: one extended-protocol batch, one exchange.
  const extended = await step('extended', 1, () => c.query('SELECT $1::int AS x', [5]));
  assert.equal(extended.result.rows[0].x, 5);
  assertExchange(extended.exchanges[0], 'postgresql SELECT', pgAttrs('SELECT'));

  for (const [sql, op] of [
    ['BEGIN', 'BEGIN'],
    ['CREATE TEMP TABLE sockscope_t (a int)', 'CREATE'],
    ['INSERT INTO sockscope_t VALUES (1), (2)', 'INSERT'],
    ['COMMIT', 'COMMIT'],
  ]) {
    const s = await step(op, 1, () => c.query(sql));
    assertExchange(s.exchanges[0], `postgresql ${op}`, pgAttrs(op));
  }
});

test("pg: a named prepared statement run again is a postgresql SELECT exchange with the first run's statement hash", async (t) => {
  if (!(await requireService(t, 'PostgreSQL', PG.host, PG.port))) return;
  const { Client } = await import('pg');
  const c = new Client(PG);
  t.after(() => c.end().catch(() => {}));
  await c.connect();
  const q = (v: number) => ({ name: 'sockscope_stmt', text: 'SELECT $1::int AS y', values: [v] });
  const first = await step('first', 1, () => c.query(q(1)));
  assertExchange(first.exchanges[0], 'postgresql SELECT', pgAttrs('SELECT'));
  const again = await step('again', 1, () => c.query(q(2)));
  assert.equal(again.result.rows[0].y, 2);
  // Issue 15 item 5: the statement is remembered per connection (it was `postgresql EXECUTE`).
  assertExchange(again.exchanges[0], 'postgresql SELECT', pgAttrs('SELECT'));
  const hash = 'sockscope.statement.hash';
  assert.equal(again.exchanges[0].attributes[hash], first.exchanges[0].attributes[hash]);
  assert.equal(typeof first.exchanges[0].attributes[hash], 'string');
});

test('pg: a query on a missing table is an ERROR exchange carrying the SQLSTATE, and the next query is fine', async (t) => {
  if (!(await requireService(t, 'PostgreSQL', PG.host, PG.port))) return;
  const { Client } = await import('pg');
  const c = new Client(PG);
  t.after(() => c.end().catch(() => {}));
  await c.connect();
  const failed = await step('missing table', 1, () =>
    assert.rejects(c.query(`SELECT * FROM sockscope_missing_${tag()}`), /does not exist/),
  );
  assertExchange(failed.exchanges[0], 'postgresql SELECT', pgAttrs('SELECT'), 'postgresql.42P01');
  const extended = await step('missing table, extended', 1, () =>
    assert.rejects(c.query(`SELECT * FROM sockscope_missing_${tag()} WHERE a = $1`, [1])),
  );
  assertExchange(extended.exchanges[0], 'postgresql SELECT', pgAttrs('SELECT'), 'postgresql.42P01');
  const after = await step('after the error', 1, () => c.query('SELECT 2'));
  assertExchange(after.exchanges[0], 'postgresql SELECT', pgAttrs('SELECT'));
});

test('mysql2: the handshake, a query and a prepared execute are mysql exchanges ended by their final packet', async (t) => {
  if (!(await requireService(t, 'MariaDB', MARIADB.host, MARIADB.port))) return;
  const mysql = await import('mysql2/promise');
  const connected = await step('connect', 1, () => mysql.createConnection(MARIADB));
  const c = connected.result;
  t.after(() => c.end().catch(() => {}));
  assertExchange(connected.exchanges[0], 'mysql CONNECT', {
    ...myAttrs('CONNECT'),
    'sockscope.caller.package': 'mysql2',
  });

  const query = await step('query', 1, () => c.query('SELECT 1 AS a UNION SELECT 2'));
  assertExchange(query.exchanges[0], 'mysql SELECT', myAttrs('SELECT'));

  // The first execute prepares the statement (COM_STMT_PREPARE), then runs it (COM_STMT_EXECUTE,
  // named by the prepared statement's keyword); the second execute reuses the prepared statement.
  const first = await step('execute', 2, () => c.execute('SELECT ? AS x', [5]));
  assert.deepEqual(
    first.exchanges.map((s) => s.name),
    ['mysql PREPARE', 'mysql SELECT'],
  );
  assertExchange(first.exchanges[0], 'mysql PREPARE', myAttrs('PREPARE'));
  assertExchange(first.exchanges[1], 'mysql SELECT', myAttrs('SELECT'));
  const second = await step('execute again', 1, () => c.execute('SELECT ? AS x', [6]));
  assertExchange(second.exchanges[0], 'mysql SELECT', myAttrs('SELECT'));

  const ping = await step('ping', 1, () => c.ping());
  assertExchange(ping.exchanges[0], 'mysql PING', myAttrs('PING'));
});

test('mysql2: a query on a missing table is an ERROR exchange carrying the error code', async (t) => {
  if (!(await requireService(t, 'MariaDB', MARIADB.host, MARIADB.port))) return;
  const mysql = await import('mysql2/promise');
  const c = await mysql.createConnection(MARIADB);
  t.after(() => c.end().catch(() => {}));
  const failed = await step('missing table', 1, () =>
    assert.rejects(c.query(`SELECT * FROM sockscope_missing_${tag()}`), /doesn't exist/),
  );
  assertExchange(failed.exchanges[0], 'mysql SELECT', myAttrs('SELECT'), 'mysql.1146');
  const prepared = await step('missing table, prepared', 1, () =>
    assert.rejects(c.execute(`SELECT * FROM sockscope_missing_${tag()} WHERE a = ?`, [1])),
  );
  assertExchange(prepared.exchanges[0], 'mysql PREPARE', myAttrs('PREPARE'), 'mysql.1146');
  const after = await step('after the error', 1, () => c.query('SELECT 2'));
  assertExchange(after.exchanges[0], 'mysql SELECT', myAttrs('SELECT'));
});

test('ioredis: SET and GET are redis exchanges ended by their reply', async (t) => {
  if (!(await requireService(t, 'Redis', HOST, 6379))) return;
  const { default: Redis } = await import('ioredis');
  const c = new Redis({ host: HOST, port: 6379, lazyConnect: true });
  const key = `sockscope:it:${tag()}`;
  t.after(async () => {
    await c.del(key).catch(() => {});
    c.disconnect();
  });
  await c.connect();
  reset();
  const set = await step('set', 1, () => c.set(key, 'v'));
  assertExchange(set.exchanges[0], 'redis SET', {
    ...redisAttrs('SET'),
    'sockscope.caller.package': 'ioredis',
  });
  const get = await step('get', 1, () => c.get(key));
  assert.equal(get.result, 'v');
  assertExchange(get.exchanges[0], 'redis GET', redisAttrs('GET'));
  assert.equal(get.exchanges[0].attributes['sockscope.command_count'], undefined, 'one command, no count');
});

test('ioredis: a pipeline of three commands is one redis exchange with a command count of 3', async (t) => {
  if (!(await requireService(t, 'Redis', HOST, 6379))) return;
  const { default: Redis } = await import('ioredis');
  const c = new Redis({ host: HOST, port: 6379, lazyConnect: true });
  const k = `sockscope:it:${tag()}`;
  t.after(async () => {
    await c.del(`${k}:a`, `${k}:b`, `${k}:c`).catch(() => {});
    c.disconnect();
  });
  await c.connect();
  const pipe = await step('pipeline', 1, () =>
    c.pipeline().get(`${k}:a`).set(`${k}:b`, '1').incr(`${k}:c`).exec(),
  );
  assert.deepEqual(
    pipe.result?.map(([err, v]) => [err, v]),
    [
      [null, null],
      [null, 'OK'],
      [null, 1],
    ],
  );
  assert.equal(pipe.exchanges.length, 1);
  assertExchange(pipe.exchanges[0], 'redis GET', { ...redisAttrs('GET'), 'sockscope.command_count': 3 });
});

test('ioredis: MULTI/EXEC is one redis MULTI exchange counting MULTI, the queued commands and EXEC', async (t) => {
  if (!(await requireService(t, 'Redis', HOST, 6379))) return;
  const { default: Redis } = await import('ioredis');
  const c = new Redis({ host: HOST, port: 6379, lazyConnect: true });
  const k = `sockscope:it:${tag()}`;
  t.after(async () => {
    await c.del(k).catch(() => {});
    c.disconnect();
  });
  await c.connect();
  const tx = await step('multi', 1, () => c.multi().set(k, '1').get(k).exec());
  assert.deepEqual(tx.result, [
    [null, 'OK'],
    [null, '1'],
  ]);
  assert.equal(tx.exchanges.length, 1);
  assertExchange(tx.exchanges[0], 'redis MULTI', { ...redisAttrs('MULTI'), 'sockscope.command_count': 4 });
});

test('ioredis: error replies (-WRONGTYPE, -ERR) are ERROR exchanges carrying the error prefix', async (t) => {
  if (!(await requireService(t, 'Redis', HOST, 6379))) return;
  const { default: Redis } = await import('ioredis');
  const c = new Redis({ host: HOST, port: 6379, lazyConnect: true });
  const key = `sockscope:it:${tag()}`;
  t.after(async () => {
    await c.del(key).catch(() => {});
    c.disconnect();
  });
  await c.connect();
  await c.set(key, 'a string');
  const wrongType = await step('hset on a string', 1, () =>
    assert.rejects(c.hset(key, 'f', 'v'), /WRONGTYPE/),
  );
  assertExchange(wrongType.exchanges[0], 'redis HSET', redisAttrs('HSET'), 'redis.WRONGTYPE');
  const unknown = await step('unknown command', 1, () =>
    assert.rejects(c.call('SOCKSCOPENOSUCHCMD', 'x'), /unknown command/),
  );
  assert.equal(unknown.exchanges[0].attributes['network.protocol.name'], 'redis');
  assert.equal(unknown.exchanges[0].attributes['error.type'], 'redis.ERR');
  const after = await step('after the errors', 1, () => c.get(key));
  assertExchange(after.exchanges[0], 'redis GET', redisAttrs('GET'));
});

test('ioredis: QUIT at close is one redis exchange and the connection span counts every exchange', async (t) => {
  if (!(await requireService(t, 'Redis', HOST, 6379))) return;
  const { default: Redis } = await import('ioredis');
  const c = new Redis({ host: HOST, port: 6379, lazyConnect: true, enableReadyCheck: false });
  t.after(() => c.disconnect());
  await c.connect();
  const ping = await step('ping', 1, () => c.ping());
  assertExchange(ping.exchanges[0], 'redis PING', redisAttrs('PING'));
  const quit = await step('quit', 1, () => c.quit());
  assertExchange(quit.exchanges[0], 'redis QUIT', redisAttrs('QUIT'));
  const link = quit.exchanges[0].links[0]?.context.spanId;
  assert.equal(ping.exchanges[0].links[0]?.context.spanId, link, 'same connection');
  await waitFor(() => connectionOf(quit.exchanges[0]) !== undefined, 5000, 'the connection span');
  const onThisSocket = exchanges().filter((s) => s.links[0]?.context.spanId === link);
  assert.equal(connectionOf(quit.exchanges[0])?.attributes['sockscope.exchanges'], onThisSocket.length);
});

/** captureNetwork in a process with no OpenTelemetry SDK registered. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ProxyTracerProvider, ROOT_CONTEXT, context, createContextKey, trace } from '@opentelemetry/api';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { captureNetwork } from '../../src/testing/index';
import { requireService } from '../helpers/services';

let redis: Redis;
let pool: Pool;
before(async () => {
  redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
  pool = new Pool({ host: '127.0.0.1', user: 'postgres', database: 'test', max: 2 });
});
after(async () => {
  redis.disconnect();
  await pool.end();
});

test('with no SDK registered, a capture sees its Redis and PostgreSQL exchanges and leaves no global behind', async (t) => {
  if (!(await requireService(t, 'Redis', '127.0.0.1', 6379))) return;
  if (!(await requireService(t, 'PostgreSQL', '127.0.0.1', 5432))) return;
  const { result, network } = await captureNetwork(async () => {
    await redis.set('sockscope:test:a', '1');
    const v = await redis.get('sockscope:test:a');
    const r = await pool.query('SELECT 1 AS one');
    return `${v}-${r.rows[0].one}`;
  });
  assert.equal(result, '1-1');
  const ops = network.counts.map((c) => `${c.server} ${c.operation} ${c.count}`);
  assert.ok(ops.includes('127.0.0.1:6379 redis SET 1'), ops.join('\n'));
  assert.ok(ops.includes('127.0.0.1:6379 redis GET 1'), ops.join('\n'));
  assert.ok(ops.includes('127.0.0.1:5432 postgresql SELECT 1'), ops.join('\n'));
  assert.ok(network.connections.some((c) => c.server === '127.0.0.1:5432'));
  const get = network.exchanges.find((e) => e.operation === 'redis GET')!;
  assert.ok(get.location, 'the exchange names the code that issued it');
  assert.equal(get.location.file, __filename);
  // Restored: no tracer provider delegate and no context manager registered any more.
  const provider = trace.getTracerProvider();
  assert.ok(provider instanceof ProxyTracerProvider);
  assert.equal(provider.getDelegateTracer('x'), undefined);
  const key = createContextKey('probe');
  assert.equal(
    context.with(ROOT_CONTEXT.setValue(key, 1), () => context.active().getValue(key)),
    undefined,
  );
});

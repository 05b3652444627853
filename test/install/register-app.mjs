// Run as `node --import sockscope/register register-app.mjs`: real pg and ioredis calls in a span.
import { trace } from '@opentelemetry/api';
import pg from 'pg';
import Redis from 'ioredis';

await trace.getTracer('install-test').startActiveSpan('checkout', async (span) => {
  const client = new pg.Client({ host: '127.0.0.1', user: 'postgres', database: 'test' });
  await client.connect();
  await client.query('SELECT 1');
  await client.end();
  const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
  await redis.connect();
  await redis.get('sockscope-install-test');
  // Wait for the socket to close, so its connection span has ended before the flush.
  const closed = new Promise((resolve) => redis.once('end', resolve));
  redis.disconnect();
  await closed;
  span.end();
});
console.log('ok');

// The install test's app work: one PostgreSQL query and one Redis GET inside a `checkout` span,
// each client's socket closed before returning (so its connection span has ended). The clients
// are required, not imported: under the README's setup the official instrumentations patch
// `require`, and `require` after `sdk.start()` is how a CommonJS app would load them.
import { createRequire } from 'node:module';
import { trace } from '@opentelemetry/api';

const require = createRequire(import.meta.url);

export async function checkout() {
  const { Client } = require('pg');
  const Redis = require('ioredis');
  await trace.getTracer('install-test').startActiveSpan('checkout', async (span) => {
    const pg = new Client({ host: '127.0.0.1', user: 'postgres', database: 'test' });
    await pg.connect();
    await pg.query('SELECT 1');
    await pg.end();
    const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
    await redis.connect();
    await redis.get('sockscope-install-test');
    const closed = new Promise((resolve) => redis.once('end', resolve));
    redis.disconnect();
    await closed;
    span.end();
  });
}

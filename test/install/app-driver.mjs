/* global sdk */
// Appended after the README's "Use it in your app" code (which defines `sdk`): real pg and ioredis
// calls inside one span, then a shutdown that flushes the spans to the OTLP receiver.
import { createRequire } from 'node:module';
import { trace } from '@opentelemetry/api';

const require = createRequire(import.meta.url);
// CommonJS requires after sdk.start(), so the official instrumentations patch them.
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
  // Wait for the socket to close, so its connection span has ended before the flush.
  const closed = new Promise((resolve) => redis.once('end', resolve));
  redis.disconnect();
  await closed;
  span.end();
});
await sdk.shutdown();
console.log('ok');

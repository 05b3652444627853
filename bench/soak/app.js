/* global require, setTimeout, setInterval, clearInterval */
// The soak's app: real pg and ioredis clients against the local services at a steady rate, with
// sockets churning (a new connection of each kind every CHURN_MS). Every SAMPLE_MS it prints one
// JSON sample line: heap, RSS, event-loop delay p99, operations and app-visible errors so far.
const { monitorEventLoopDelay } = require('node:perf_hooks');
const pg = require('pg');
const Redis = require('ioredis');

const DURATION_MS = Number(process.env.SOAK_SECONDS || 120) * 1000;
const SAMPLE_MS = 5000;
const CHURN_MS = 200;
const PG = { host: '127.0.0.1', user: 'postgres', database: 'test' };

const errors = {};
const fail = (e) => {
  const key = (e && (e.code || e.name)) || 'unknown';
  errors[key] = (errors[key] || 0) + 1;
};
let ops = 0;
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();

async function main() {
  const pool = new pg.Pool({ ...PG, max: 4 });
  const redis = new Redis({ host: '127.0.0.1', port: 6379 });
  const start = Date.now();
  let stop = false;
  const steady = async () => {
    while (!stop) {
      await Promise.all([
        pool.query('SELECT $1::int AS n', [ops]).then(() => ops++, fail),
        redis.set('sockscope:soak', String(ops)).then(() => ops++, fail),
        redis.get('sockscope:soak').then(() => ops++, fail),
      ]);
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  const churn = setInterval(async () => {
    const c = new pg.Client(PG);
    await c
      .connect()
      .then(() => c.query('SELECT 1'))
      .then(() => ops++, fail);
    await c.end().catch(fail);
    const r = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
    await r
      .connect()
      .then(() => r.ping())
      .then(() => ops++, fail);
    await r.quit().catch(fail);
  }, CHURN_MS);
  const sampler = setInterval(() => {
    // Heap after a full collection (run with --expose-gc): the live set, not the GC's sawtooth.
    if (typeof globalThis.gc === 'function') globalThis.gc();
    const m = process.memoryUsage();
    console.log(
      JSON.stringify({
        t: Math.round((Date.now() - start) / 1000),
        heapMB: +(m.heapUsed / 1048576).toFixed(1),
        rssMB: +(m.rss / 1048576).toFixed(1),
        loopDelayP99Ms: +(delay.percentile(99) / 1e6).toFixed(2),
        ops,
        errors,
      }),
    );
    delay.reset();
  }, SAMPLE_MS);
  const loops = [steady(), steady()];
  await new Promise((r) => setTimeout(r, DURATION_MS));
  stop = true;
  clearInterval(churn);
  clearInterval(sampler);
  await Promise.all(loops);
  await pool.end();
  await redis.quit();
  console.log(JSON.stringify({ done: true, ops, errors }));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});

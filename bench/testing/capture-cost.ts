/**
 * What `captureNetwork` costs per exchange (informative; `npm run bench:capture [-- --rounds N]`).
 * Sequential Redis GETs against the local Redis, outside a capture and inside one, interleaved
 * rounds of the same count each; medians of CPU (user + system) and wall time per GET. A capture
 * records every exchange with its caller's stack frame, which is fine in tests and is why it is not
 * for production.
 */
import Redis from 'ioredis';
import { captureNetwork } from '../../src/testing';

const GETS = 1000;

async function gets(redis: Redis): Promise<void> {
  for (let i = 0; i < GETS; i++) await redis.get('sockscope:bench:capture');
}

async function measure(fn: () => Promise<unknown>): Promise<{ cpuUs: number; wallUs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const c = process.cpuUsage(c0);
  return { cpuUs: (c.user + c.system) / GETS, wallUs: ((performance.now() - t0) * 1000) / GETS };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function main(): Promise<void> {
  const i = process.argv.indexOf('--rounds');
  const rounds = i > 0 ? Number(process.argv[i + 1]) : 7;
  const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
  await redis.connect();
  const plain: { cpuUs: number; wallUs: number }[] = [];
  const captured: { cpuUs: number; wallUs: number }[] = [];
  await gets(redis); // warm-up
  await captureNetwork(() => gets(redis));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ['plain', 'captured'] : ['captured', 'plain'];
    for (const v of order) {
      if (v === 'plain') plain.push(await measure(() => gets(redis)));
      else captured.push(await measure(() => captureNetwork(() => gets(redis))));
    }
  }
  redis.disconnect();
  const row = (name: string, xs: { cpuUs: number; wallUs: number }[]) =>
    `| ${name} | ${median(xs.map((x) => x.cpuUs)).toFixed(1)} | ${median(xs.map((x) => x.wallUs)).toFixed(1)} |`;
  console.log(`Redis GET, ${GETS} sequential per round, median of ${rounds} interleaved rounds:\n`);
  console.log('| variant | CPU µs per GET | wall µs per GET |\n| --- | ---: | ---: |');
  console.log(row('outside a capture', plain));
  console.log(row('inside captureNetwork', captured));
}

main().catch((e) => {
  console.error(`bench:capture: ${(e as Error).message}`);
  process.exitCode = 1;
});

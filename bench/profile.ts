/**
 * Runs one variant of one scenario group on its own, repeatedly, for profiling:
 *
 *   node --expose-gc --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile.ts GROUP VARIANT [BLOCKS]
 *   node --import tsx bench/cpuprofile-summary.ts /tmp/prof/*.cpuprofile
 *
 * GROUP is loop-redis, loop-echo, ioredis, ioredis-per20 or churn; VARIANT one of its variant ids (see run.ts).
 */
import { gc } from './lib/harness';
import { loadInstrumentedModules } from './lib/otel';
import { echoPeer, redisPeer, startEchoServer } from './lib/peers';
import { churnGroup } from './scenarios/churn';
import { BENCH_KEY, ioredisGroup, newClient } from './scenarios/ioredis';
import { loopGroup } from './scenarios/loop';

async function main(): Promise<void> {
  const [group, variant, blocksArg] = process.argv.slice(2);
  const blocks = Number(blocksArg ?? 5);
  const Redis = loadInstrumentedModules(process.argv.includes('--source') ? 'source' : 'build');
  const echo = await startEchoServer();
  try {
    const sizes = { ops: 20_000, warmup: 2000 };
    const defs = {
      'loop-redis': () => loopGroup(redisPeer(), sizes),
      'loop-echo': () => loopGroup(echoPeer(echo.port), sizes),
      ioredis: () => ioredisGroup(Redis, sizes),
      'ioredis-per20': () => ioredisGroup(Redis, sizes, 20),
      churn: () => churnGroup(echoPeer(echo.port), { ops: 3000, warmup: 300 }),
    } as const;
    const make = defs[group as keyof typeof defs];
    if (make === undefined) throw new Error(`group must be one of ${Object.keys(defs).join(', ')}`);
    const v = make().variants.find((x) => x.id === variant);
    if (v === undefined) throw new Error(`no variant ${variant} in ${group}`);
    if (group.startsWith('ioredis')) {
      const c = newClient(Redis);
      await c.connect();
      await c.set(BENCH_KEY, 'v'.repeat(32), 'EX', 600);
      await c.quit();
    }
    for (let i = 0; i < blocks; i++) {
      const r = await v.run();
      gc();
      const bad = r.checks.filter((c) => !c.ok);
      process.stderr.write(
        `${group}/${variant} block ${i + 1}: ${(r.sample.cpuNs / r.sample.ops / 1e3).toFixed(2)} µs CPU per op` +
          (bad.length > 0 ? ` CHECKS FAILED: ${bad.map((c) => `${c.what} ${c.detail}`).join('; ')}` : '') +
          '\n',
      );
    }
  } finally {
    await echo.stop();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`profile: failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);

/**
 * Bytes allocated per round trip of the request loop, per variant (what drives garbage collection,
 * which the instruction count leaves out):
 *
 *   node --expose-gc --max-semi-space-size=64 --min-semi-space-size=64 --require tsx/cjs bench/callgrind/allocations.ts
 *
 * After 3,000 round trips and a full GC, the growth of the used heap over 2,000 more; the young
 * generation is large enough that nothing is collected meanwhile. Loads the sockscope an earlier
 * `npm run bench` compiled.
 */
import { ROOT_CONTEXT, context } from '@opentelemetry/api';
import { getHeapStatistics } from 'node:v8';
import { loadSockscopeOnly, makePipeline, unsampledContext, withInstrumentations } from '../lib/otel';
import { RawClient, echoPeer, redisPeer, startEchoServer } from '../lib/peers';
const gc = (globalThis as any).gc as () => void;
async function measureLoop(c: RawClient, n: number) {
  await c.loop(3000);
  gc();
  const h0 = getHeapStatistics().used_heap_size;
  await c.loop(n);
  const h1 = getHeapStatistics().used_heap_size;
  return (h1 - h0) / n;
}
async function main() {
  loadSockscopeOnly('prebuilt');
  const echo = await startEchoServer();
  for (const peerName of ['redis', 'echo'])
    for (const writes of ['buffer', 'string']) {
      const peer = peerName === 'redis' ? redisPeer() : echoPeer(echo.port);
      const row: string[] = [];
      for (const v of ['raw', 'none', 'unsampled', 'all']) {
        let bytes = 0;
        if (v === 'raw') {
          await withInstrumentations({}, undefined, async () => {
            const c = await RawClient.connect(peer, writes === 'string');
            bytes = await context.with(ROOT_CONTEXT, () => measureLoop(c, 2000));
            await c.close();
          });
        } else {
          const pipe = makePipeline({ coverage: true });
          await withInstrumentations(
            { sockscope: { exchanges: v === 'none' ? 'none' : 'all' } },
            pipe.provider,
            async () => {
              const c = await RawClient.connect(peer, writes === 'string');
              const p = v === 'unsampled' ? unsampledContext(pipe.provider) : undefined;
              bytes = await context.with(p?.ctx ?? ROOT_CONTEXT, () => measureLoop(c, 2000));
              p?.parent.end();
              await c.close();
            },
          );
          await pipe.close();
        }
        row.push(`${v} ${bytes.toFixed(0)}`);
      }
      console.log(`${peerName}-${writes}: bytes allocated per round trip: ${row.join(', ')}`);
    }
  await echo.stop();
}
main().then(() => process.exit(0));

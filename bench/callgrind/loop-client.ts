/**
 * One process of the instruction count (`npm run bench -- --instructions`, see ./instructions.ts):
 * the request loop of scenarios 1, 2, 5 and 6 for one variant, run under callgrind by the parent.
 *
 *   node --require tsx/cjs bench/callgrind/loop-client.ts PEER PORT WRITES VARIANT WARMUP N [prebuilt|source]
 *
 * PEER is redis or echo, WRITES buffer or string, VARIANT raw, none, unsampled or all. It warms up
 * for WARMUP round trips, then, twice: scavenges, zeroes callgrind's counters
 * (`callgrind_control -z`), runs N (then 2N) round trips and dumps the counts (`callgrind_control
 * -d`: the files `.1` and `.2`). The parent takes (dump 2 - dump 1) / N: start-up, warm-up and the
 * cost of asking callgrind cancel.
 * Prints one JSON line of checks on stdout. Loads the sockscope the parent compiled (no build here).
 */
import { ROOT_CONTEXT, context } from '@opentelemetry/api';
import { execFile } from 'node:child_process';
import { loadSockscopeOnly, makePipeline, unsampledContext, withInstrumentations } from '../lib/otel';
import { RawClient, echoPeer, redisPeer } from '../lib/peers';

const VARIANTS = ['raw', 'none', 'unsampled', 'all'] as const;
type Variant = (typeof VARIANTS)[number];

/**
 * Asks callgrind (which runs this process) to zero or dump its counters. callgrind reads the
 * request only while the process runs code, so a slow timer keeps the event loop turning meanwhile.
 */
function callgrind(flag: '-z' | '-d'): Promise<void> {
  return new Promise((resolve, reject) => {
    const tick = setInterval(() => undefined, 200);
    execFile('callgrind_control', [flag, String(process.pid)], (e) => {
      clearInterval(tick);
      if (e) reject(e);
      else resolve();
    });
  });
}

/**
 * A scavenge before each window, outside it, with a young generation large enough for a window's
 * garbage (--min-semi-space-size): no scavenge falls into one window but not the other (one costs
 * more than a thousand round trips differ by). Not a full GC: that throws optimised code away, and
 * the window would count V8 compiling it again. Garbage collection is left out of the count; what
 * drives it, bytes allocated per round trip, is measured by allocations.ts.
 */
function collect(): void {
  const gc = (globalThis as { gc?: (o: { type: 'minor' }) => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  gc({ type: 'minor' });
}

async function main(): Promise<void> {
  const [peerName, portArg, writes, variant, warmupArg, nArg, from] = process.argv.slice(2);
  const peer = peerName === 'redis' ? redisPeer() : echoPeer(Number(portArg));
  const asString = writes === 'string';
  const warmup = Number(warmupArg);
  const n = Number(nArg);
  if (!VARIANTS.includes(variant as Variant)) throw new Error(`unknown variant ${variant}`);
  const loop = async (c: RawClient, ctx = ROOT_CONTEXT) =>
    context.with(ctx, async () => {
      await c.loop(warmup);
      for (const rounds of [n, 2 * n]) {
        collect();
        await callgrind('-z');
        await c.loop(rounds);
        await callgrind('-d');
      }
    });

  if (variant === 'raw') {
    await withInstrumentations({}, undefined, async () => {
      const c = await RawClient.connect(peer, asString);
      await loop(c);
      await c.close();
    });
    process.stdout.write(`${JSON.stringify({ exported: 0 })}\n`);
    return;
  }
  loadSockscopeOnly(from === 'source' ? 'source' : 'prebuilt');
  // As in scenario 5/6 (bench/scenarios/loop.ts): the coverage processor on, the socket connected
  // at the root (its connection span sampled), the loop inside an unsampled parent for 'unsampled'.
  const pipe = makePipeline({ coverage: true });
  const exchanges = variant === 'none' ? 'none' : 'all';
  await withInstrumentations({ sockscope: { exchanges } }, pipe.provider, async () => {
    const c = await RawClient.connect(peer, asString);
    const inParent = variant === 'unsampled' ? unsampledContext(pipe.provider) : undefined;
    await loop(c, inParent?.ctx);
    inParent?.parent.end();
    await c.close();
  });
  const counts = await pipe.close();
  const conn = counts.connections[0];
  process.stdout.write(
    `${JSON.stringify({
      exported: counts.exported,
      dropped: counts.dropped,
      byKey: counts.byKey,
      connectionExchanges: conn?.attributes['sockscope.exchanges'],
      names: counts.names,
    })}\n`,
  );
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`loop-client: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);

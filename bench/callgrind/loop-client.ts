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
import { spawnSync } from 'node:child_process';
import { writeSync } from 'node:fs';
import type { InstrumentationModuleDefinition } from '@opentelemetry/instrumentation';
import * as net from 'node:net';
import {
  loadSockscopeOnly,
  makePipeline,
  netInst,
  unsampledContext,
  withInstrumentations,
  type InstrumentationSet,
} from '../lib/otel';
import { RawClient, churnOnce, echoPeer, redisPeer, type Peer } from '../lib/peers';
import { CHURN_SETTLE, SETTLE } from './settle';

const VARIANTS = ['raw', 'none', 'unsampled', 'all', 'ignored', 'timer', 'net', 'nocaller'] as const;
type Variant = (typeof VARIANTS)[number];

/**
 * Asks callgrind (which runs this process) to zero or dump its counters, synchronously:
 * `spawnSync` waits in C++ while callgrind_control runs (vgdb reaches the waiting process through
 * ptrace), so no JS runs meanwhile. The asynchronous `execFile` this replaced ran the child's
 * pipes and exit through Node's stream and async-hook functions, with other kinds of stream and
 * resource than the loop's: `onwrite`, `writeOrBuffer`, `callbackTrampoline`, `emitInitScript`
 * were deoptimised ("wrong map", raw too) and each window counted TurboFan compiling them again
 * (--trace-deopt showed it). With SOCKSCOPE_CG_MARK=1 (outside valgrind, to check the windows with
 * --trace-opt --trace-deopt --trace-gc) it runs `true` the same way and marks the window on stderr.
 */
function callgrind(...flags: string[]): void {
  const flag = flags[0];
  const mark = process.env.SOCKSCOPE_CG_MARK === '1';
  const r = mark
    ? spawnSync('true', [], { stdio: 'ignore' })
    : spawnSync('callgrind_control', [...flags, String(process.pid)], { stdio: 'ignore', timeout: 300_000 });
  if (r.error !== undefined) throw r.error;
  if (r.status !== 0) throw new Error(`callgrind_control ${flag} exited with ${String(r.status)}`);
  if ((mark || process.env.SOCKSCOPE_CG_TRACE === '1') && flag !== '-i')
    writeSync(2, `=== window ${flag === '-z' ? 'start' : 'end'}\n`);
}

/**
 * A scavenge before each window, outside it, with a young generation large enough for the garbage
 * of the settling round trips and the window (--min-semi-space-size): no scavenge falls into one
 * window but not the other. Not a full GC: that throws optimised code away.
 */
function collect(): void {
  const gc = (globalThis as { gc?: (o: { type: 'minor' }) => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  gc({ type: 'minor' });
}

/**
 * One full GC before the warm-up: start-up leaves a major GC due (incremental marking started by
 * module loading), and without this it fell into the second window (about 75,000 instructions per
 * round trip of incremental marking, in that window only).
 */
function fullGc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Connections one after the other: connect, one round trip, close (scenario 7's loop). */
async function churn(peer: Peer, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await churnOnce(peer);
}

/**
 * Churn (`echo-churn`): the unit is a connection. Variants: raw, net (instrumentation-net, the
 * scenario's baseline), all (sockscope's defaults: exchanges 'all', a sampled connection span and
 * exchange span per connection) and nocaller (the same, captureCallerPackage: false).
 */
async function churnMain(
  peer: Peer,
  variant: Variant,
  warmup: number,
  n: number,
  from: string,
): Promise<void> {
  const windows = async (): Promise<void> => {
    fullGc();
    await churn(peer, warmup);
    callgrind('-i', 'on');
    for (const rounds of [n, 2 * n]) {
      collect();
      await churn(peer, CHURN_SETTLE);
      callgrind('-z');
      await churn(peer, rounds);
      callgrind('-d');
    }
  };
  if (variant === 'raw') {
    await withInstrumentations({}, undefined, windows);
    process.stdout.write(`${JSON.stringify({ exported: 0 })}\n`);
    return;
  }
  const set: InstrumentationSet = {};
  if (variant === 'net') {
    // As loadInstrumentedModules does: `net` was loaded before the instrumentation's require hook.
    netInst.enable();
    const def = (netInst as unknown as { _modules: InstrumentationModuleDefinition[] })._modules.find(
      (d) => d.name === 'net',
    );
    if (def?.patch === undefined) throw new Error('instrumentation-net has no module definition for net');
    if (def.moduleExports === undefined) {
      def.moduleExports = net;
      def.patch(net);
    }
    netInst.disable();
    set.net = true;
  } else {
    loadSockscopeOnly(from === 'source' ? 'source' : 'prebuilt');
    if (variant === 'all') set.sockscope = { exchanges: 'all' };
    else if (variant === 'nocaller') set.sockscope = { exchanges: 'all', captureCallerPackage: false };
    else throw new Error(`variant ${variant} is not one of churn's (raw, net, all, nocaller)`);
  }
  const pipe = makePipeline({ coverage: variant !== 'net' });
  await withInstrumentations(set, pipe.provider, windows);
  const counts = await pipe.close();
  process.stdout.write(
    `${JSON.stringify({ exported: counts.exported, dropped: counts.dropped, byKey: counts.byKey })}\n`,
  );
}

async function main(): Promise<void> {
  const [peerName, portArg, writes, variant, warmupArg, nArg, from] = process.argv.slice(2);
  if (writes === 'churn') {
    if (!VARIANTS.includes(variant as Variant)) throw new Error(`unknown variant ${variant}`);
    return churnMain(echoPeer(Number(portArg)), variant as Variant, Number(warmupArg), Number(nArg), from);
  }
  const peer = peerName === 'redis' ? redisPeer() : echoPeer(Number(portArg));
  const asString = writes === 'string';
  const warmup = Number(warmupArg);
  const n = Number(nArg);
  if (!VARIANTS.includes(variant as Variant)) throw new Error(`unknown variant ${variant}`);
  const loop = async (c: RawClient, ctx = ROOT_CONTEXT) =>
    context.with(ctx, async () => {
      fullGc();
      await c.loop(warmup);
      // The parent starts valgrind with --instr-atstart=no: start-up and the warm-up run without
      // callgrind's instrumentation (several times faster); from here on it counts.
      callgrind('-i', 'on');
      for (const rounds of [n, 2 * n]) {
        collect();
        await c.loop(SETTLE);
        callgrind('-z');
        await c.loop(rounds);
        callgrind('-d');
      }
    });

  if (variant === 'raw' || variant === 'timer') {
    // 'timer' (informative): raw, plus one unref'd timer re-armed every 250 ms as sockscope's idle
    // sweeper does. A process with any timer running has Node's async-hook code see Timeout
    // resources too, which made its property loads megamorphic (callgrind, breakdown.ts).
    if (variant === 'timer') {
      const tick = (): void => void setTimeout(tick, 250).unref();
      tick();
    }
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
  // 'ignored' (informative): sockscope enabled, this socket ignored by config: what the prototype
  // wrappers and the registry lookup cost without a tap.
  const ignore = variant === 'ignored' ? [{ host: peer.host, port: peer.port }] : undefined;
  await withInstrumentations({ sockscope: { exchanges, ignore } }, pipe.provider, async () => {
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

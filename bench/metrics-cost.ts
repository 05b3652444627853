/**
 * What metrics add per exchange on the hot path: the Redis PING loop of bench/hot-path.ts (a real
 * TCP socket pair, the client's `_write` a no-op, responses pushed as Node's `onStreamRead` would),
 * with `exchanges: 'none'` and under an unsampled parent, metrics on versus off, interleaved in
 * one run. A MeterProvider with a reader is registered in every variant; the reader collects at
 * the end of each timed block, inside the timing, so the SDK's reading cost is billed too.
 *
 *   node --expose-gc --import tsx bench/metrics-cost.ts [--rounds N] [--iterations N] [--source]
 */
import { ROOT_CONTEXT, context, metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import * as net from 'node:net';
import { socketPair } from './lib/peers';
import { setImmediate as tick } from 'node:timers/promises';
import { gc, median } from './lib/harness';
import {
  loadInstrumentedModules,
  makePipeline,
  sockscope,
  unsampledContext,
  withInstrumentations,
} from './lib/otel';
import { sockscopeModules } from './lib/sockscope';

const REQUEST = Buffer.from('*1\r\n$4\r\nPING\r\n');
const RESPONSE = Buffer.from('+PONG\r\n');

class OnDemandReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

interface Variant {
  id: string;
  unsampled: boolean;
  /** 'on': metrics through an SDK MeterProvider; 'off': the same provider, `metrics: false`; 'noop': no MeterProvider. */
  metrics: 'on' | 'off' | 'noop';
}

const VARIANTS: Variant[] = [
  { id: 'none/off', unsampled: false, metrics: 'off' },
  { id: 'none/on', unsampled: false, metrics: 'on' },
  { id: 'none/noop', unsampled: false, metrics: 'noop' },
  { id: 'unsampled/off', unsampled: true, metrics: 'off' },
  { id: 'unsampled/on', unsampled: true, metrics: 'on' },
  { id: 'unsampled/noop', unsampled: true, metrics: 'noop' },
];

async function iterate(client: net.Socket, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    client.write(REQUEST);
    client.push(RESPONSE);
    if ((i & 255) === 255) await tick();
  }
}

async function block(v: Variant, n: number): Promise<{ cpuNs: number; exchanges: number }> {
  const pipe = makePipeline({ coverage: true });
  const reader = new OnDemandReader();
  const meters = new MeterProvider({ readers: [reader] });
  const s = sockscope();
  s.setMeterProvider(v.metrics === 'noop' ? metrics.getMeterProvider() : meters);
  const config = { exchanges: 'none' as const, metrics: v.metrics !== 'off' };
  const out = await withInstrumentations({ sockscope: config }, pipe.provider, async () => {
    const pair = await socketPair();
    const ctx = v.unsampled ? unsampledContext(pipe.provider).ctx : ROOT_CONTEXT;
    const r = await context.with(ctx, async () => {
      gc();
      await iterate(pair.client, Math.min(20_000, n));
      await reader.collect();
      const c0 = process.cpuUsage();
      await iterate(pair.client, n);
      await reader.collect();
      const c = process.cpuUsage(c0);
      return ((c.user + c.system) * 1e3) / n;
    });
    await pair.close();
    return r;
  });
  const { resourceMetrics } = await reader.collect();
  let exchanges = 0;
  for (const sm of resourceMetrics.scopeMetrics)
    for (const m of sm.metrics)
      if (m.descriptor.name === 'sockscope.exchanges')
        for (const p of m.dataPoints) exchanges += p.value as number;
  await meters.shutdown();
  await pipe.close();
  return { cpuNs: out, exchanges };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let rounds = 7;
  let iterations = 200_000;
  let from: 'build' | 'source' = 'build';
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rounds') rounds = Number(argv[++i]);
    else if (argv[i] === '--iterations') iterations = Number(argv[++i]);
    else if (argv[i] === '--source') from = 'source';
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  loadInstrumentedModules(from);
  process.stderr.write(`sockscope under test: ${sockscopeModules().origin}\n`);
  const cpu = new Map<string, number[]>(VARIANTS.map((v) => [v.id, []]));
  const counted = new Map<string, number>();
  for (let r = 0; r < rounds; r++) {
    const line: string[] = [];
    for (const v of VARIANTS) {
      const res = await block(v, iterations);
      cpu.get(v.id)!.push(res.cpuNs);
      if (r === 0) counted.set(v.id, res.exchanges);
      line.push(`${v.id} ${res.cpuNs.toFixed(0)}`);
    }
    process.stderr.write(`round ${r + 1}/${rounds}: ${line.join(', ')} ns\n`);
  }
  const med = (id: string) => median(cpu.get(id) ?? []);
  let text = `\nMetrics cost, CPU ns per exchange (median of ${rounds} rounds x ${iterations}, Redis PING loop)\n\n`;
  text +=
    '| variant | CPU ns / exchange | sockscope.exchanges reported in round 1 (cumulative since the process started) |\n| --- | ---: | ---: |\n';
  for (const v of VARIANTS) text += `| ${v.id} | ${med(v.id).toFixed(0)} | ${counted.get(v.id)} |\n`;
  text += `\n- metrics on - off, exchanges 'none': ${(med('none/on') - med('none/off')).toFixed(0)} ns\n`;
  text += `- metrics on - off, unsampled parent: ${(med('unsampled/on') - med('unsampled/off')).toFixed(0)} ns\n`;
  text += `- no MeterProvider - off, exchanges 'none': ${(med('none/noop') - med('none/off')).toFixed(0)} ns\n`;
  process.stdout.write(text);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(
      `metrics-cost: failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    process.exit(1);
  },
);

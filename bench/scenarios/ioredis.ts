/**
 * Scenario 4: a covered client. An ioredis GET loop inside a parent span:
 *   bare       ioredis, no instrumentation (to know what the official span itself costs)
 *   ioredis    @opentelemetry/instrumentation-ioredis alone (the baseline)
 *   uncovered  + sockscope `exchanges: 'uncovered'` (every GET is covered: nothing to emit)
 *   all        + sockscope `exchanges: 'all'`
 * sockscope variants run with its SocketCoverageProcessor, as `sockscope/register` sets it up.
 */
import { ROOT_CONTEXT, SpanKind, context, trace } from '@opentelemetry/api';
import {
  expectAtLeast,
  expectAtMost,
  expectCount,
  measure,
  type BlockResult,
  type Check,
  type GroupDef,
} from '../lib/harness';
import {
  COVERED,
  makePipeline,
  withInstrumentations,
  type IORedisCtor,
  type InstrumentationSet,
} from '../lib/otel';
import { REDIS_HOST, REDIS_PORT } from '../lib/peers';
import type { LoopSizes } from './loop';

export const BENCH_KEY = `sockscope-bench:${process.pid}`;
const IOREDIS_GET = '@opentelemetry/instrumentation-ioredis|get';

type Mode = 'bare' | 'ioredis' | 'uncovered' | 'all';

export function newClient(Redis: IORedisCtor): InstanceType<IORedisCtor> {
  return new Redis({
    host: REDIS_HOST,
    port: REDIS_PORT,
    lazyConnect: true,
    enableAutoPipelining: false,
    maxRetriesPerRequest: 1,
  });
}

/**
 * `perParent`: GETs under each parent span. The scenario puts the whole loop under one
 * parent (undefined); 20 per parent is closer to a web request doing a few lookups.
 */
async function block(Redis: IORedisCtor, s: LoopSizes, mode: Mode, perParent?: number): Promise<BlockResult> {
  const pipe = makePipeline({ coverage: mode === 'uncovered' || mode === 'all' });
  const set: InstrumentationSet = {};
  if (mode !== 'bare') set.ioredis = true;
  if (mode === 'uncovered' || mode === 'all') set.sockscope = { exchanges: mode };
  const tracer = pipe.provider.getTracer('bench-app');
  const sample = await withInstrumentations(set, pipe.provider, async () => {
    const client = newClient(Redis);
    await client.connect();
    const oneParent = perParent === undefined;
    const parent = tracer.startSpan('GET /items', { kind: SpanKind.SERVER });
    const inRequests = async (n: number) => {
      for (let i = 0; i < n; i += perParent!) {
        const req = tracer.startSpan('GET /items', { kind: SpanKind.SERVER });
        await context.with(trace.setSpan(ROOT_CONTEXT, req), async () => {
          for (let j = 0; j < perParent! && i + j < n; j++) await client.get(BENCH_KEY);
        });
        req.end();
      }
    };
    const result = await context.with(trace.setSpan(ROOT_CONTEXT, parent), async () => {
      const loop = async (n: number) => {
        if (!oneParent) return inRequests(n);
        for (let i = 0; i < n; i++) await client.get(BENCH_KEY);
      };
      await loop(s.warmup);
      return measure(s.ops, () => loop(s.ops));
    });
    parent.end();
    await client.quit();
    return result;
  });
  const counts = await pipe.close();
  const total = s.ops + s.warmup;
  const c = counts.byKey;
  const checks: Check[] = [
    expectCount(
      'parent spans',
      c['bench-app|GET /items'],
      1 + (perParent === undefined ? 0 : Math.ceil(s.warmup / perParent) + Math.ceil(s.ops / perParent)),
    ),
    expectCount('dropped spans', counts.dropped, 0),
    expectCount('ioredis GET spans', c[IOREDIS_GET] ?? 0, mode === 'bare' ? 0 : total),
  ];
  if (mode === 'bare' || mode === 'ioredis') {
    checks.push(
      expectCount('sockscope spans', (c['sockscope|exchange'] ?? 0) + (c['sockscope|connection'] ?? 0), 0),
    );
  } else {
    checks.push(expectCount('sockscope connection spans', c['sockscope|connection'], 1));
  }
  if (mode === 'uncovered') {
    // Only the uncovered exchanges outside the parent (ready check, QUIT) may be emitted.
    checks.push(expectAtMost('sockscope exchange spans', c['sockscope|exchange'] ?? 0, 5));
    checks.push(expectCount('covered exchange spans emitted', c[COVERED] ?? 0, 0));
  }
  if (mode === 'all') {
    checks.push(expectAtLeast('sockscope exchange spans', c['sockscope|exchange'], total));
    checks.push(expectCount('covered exchange spans', c[COVERED], total));
  }
  return {
    sample,
    checks,
    dropped: counts.dropped,
    spans: counts.byKey,
    totalOps: s.ops + s.warmup,
    names: counts.names,
  };
}

export function ioredisGroup(Redis: IORedisCtor, s: LoopSizes, perParent?: number): GroupDef {
  const per = perParent;
  return {
    id: per === undefined ? 'ioredis' : `ioredis-per${per}`,
    title:
      per === undefined
        ? 'Covered client: ioredis GET loop inside one parent span (scenario 4)'
        : `Covered client, ${per} GETs per parent span (scenario 4, informative)`,
    unit: 'GET',
    baseline: 'ioredis',
    variants: [
      { id: 'bare', label: 'ioredis, no instrumentation', run: () => block(Redis, s, 'bare', per) },
      { id: 'ioredis', label: 'instrumentation-ioredis alone', run: () => block(Redis, s, 'ioredis', per) },
      {
        id: 'uncovered',
        label: "+ sockscope 'uncovered'",
        run: () => block(Redis, s, 'uncovered', per),
      },
      { id: 'all', label: "+ sockscope 'all'", run: () => block(Redis, s, 'all', per) },
      {
        id: 'control',
        label: "instrumentation-ioredis alone again (A/A control: this run's own noise)",
        run: () => block(Redis, s, 'ioredis', per),
      },
    ],
  };
}

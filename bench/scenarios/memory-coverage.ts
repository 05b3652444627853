/**
 * Scenario 8, informative: what SocketCoverageProcessor keeps. A covered client (ioredis with
 * instrumentation-ioredis, 20 GETs per parent span) and sockscope `'uncovered'`; heap after forced
 * GCs before, along and after `count` GETs, and after the provider (and so the processor) is shut
 * down. The processor keeps ended upstream spans for matching (60 s, at most 20,000).
 */
import { ROOT_CONTEXT, SpanKind, context, trace } from '@opentelemetry/api';
import { setImmediate as tick } from 'node:timers/promises';
import { expectCount, gc } from '../lib/harness';
import { makePipeline, withInstrumentations, type IORedisCtor } from '../lib/otel';
import { BENCH_KEY, newClient } from './ioredis';
import { slope, type MemoryRun } from './memory';

async function heapMB(): Promise<number> {
  await tick();
  gc();
  await tick();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

export async function memoryCoverage(
  Redis: IORedisCtor,
  count: number,
  checkpoints: number,
): Promise<MemoryRun> {
  const pipe = makePipeline({ coverage: true });
  const tracer = pipe.provider.getTracer('bench-app');
  const points: MemoryRun['points'] = [];
  const t0 = Date.now();
  let beforeMB = 0;
  let afterMB = 0;
  const perParent = 20;
  const run = async (client: InstanceType<IORedisCtor>, n: number) => {
    for (let i = 0; i < n; i += perParent) {
      const req = tracer.startSpan('GET /items', { kind: SpanKind.SERVER });
      await context.with(trace.setSpan(ROOT_CONTEXT, req), async () => {
        for (let j = 0; j < perParent && i + j < n; j++) await client.get(BENCH_KEY);
      });
      req.end();
    }
  };
  await withInstrumentations(
    { ioredis: true, sockscope: { exchanges: 'uncovered' } },
    pipe.provider,
    async () => {
      const client = newClient(Redis);
      await client.connect();
      await run(client, 200);
      await pipe.provider.forceFlush();
      beforeMB = await heapMB();
      points.push({ at: 0, heapMB: beforeMB });
      const step = Math.ceil(count / checkpoints);
      for (let done = 0; done < count;) {
        const n = Math.min(step, count - done);
        await run(client, n);
        done += n;
        await pipe.provider.forceFlush();
        points.push({ at: done, heapMB: await heapMB() });
      }
      afterMB = points[points.length - 1].heapMB;
      await client.quit();
    },
  );
  const counts = await pipe.close();
  const afterCloseMB = await heapMB();
  return {
    id: 'coverage',
    title: `${count.toLocaleString('en-US')} covered GETs (20 per parent) with SocketCoverageProcessor, informative`,
    count,
    beforeMB,
    afterMB,
    afterCloseMB,
    points,
    slopeMBPerMillion: slope(points),
    seconds: (Date.now() - t0) / 1e3,
    checks: [
      expectCount(
        'ioredis GET spans',
        counts.byKey['@opentelemetry/instrumentation-ioredis|get'],
        count + 200,
      ),
      expectCount('dropped spans', counts.dropped, 0),
    ],
    dropped: counts.dropped,
  };
}

/**
 * Scenario 8: memory. With sockscope `exchanges: 'all'` and the batch processor:
 *   exchanges  1,000,000 sequential exchanges on one socket to the echo child, heap (after a forced
 *              GC and a flush of the batch processor) at checkpoints along the way
 *   sockets    10,000 sockets opened, used for one round trip and closed (50 at a time)
 * Heap is `process.memoryUsage().heapUsed` after two forced GCs.
 */
import { setImmediate as tick } from 'node:timers/promises';
import { check, expectCount, gc, type Check } from '../lib/harness';
import { makePipeline, withInstrumentations, type SpanCounts } from '../lib/otel';
import { RawClient, churnOnce, type Peer } from '../lib/peers';

export interface MemoryPoint {
  /** Exchanges or sockets done when the heap was read. */
  at: number;
  heapMB: number;
}

export interface MemoryRun {
  id: 'exchanges' | 'sockets' | 'coverage';
  title: string;
  count: number;
  /** Heap before the first measured operation (after a warm-up) and after the last. */
  beforeMB: number;
  afterMB: number;
  /** After the socket(s) closed and sockscope was disabled. */
  afterCloseMB: number;
  points: MemoryPoint[];
  /** Least-squares slope of the heap over the run, in MB per million operations. */
  slopeMBPerMillion: number;
  seconds: number;
  checks: Check[];
  dropped: number;
}

async function heapMB(flush?: () => Promise<void>): Promise<number> {
  if (flush !== undefined) await flush();
  await tick();
  gc();
  await tick();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

export function slope(points: MemoryPoint[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p.at, 0) / n;
  const my = points.reduce((a, p) => a + p.heapMB, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.at - mx) * (p.heapMB - my);
    den += (p.at - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 1e6;
}

export async function memoryExchanges(peer: Peer, count: number, checkpoints: number): Promise<MemoryRun> {
  const pipe = makePipeline({ coverage: true });
  const flush = () => pipe.provider.forceFlush();
  const warmup = Math.min(10_000, Math.max(100, count / 100));
  const points: MemoryPoint[] = [];
  const t0 = Date.now();
  let beforeMB = 0;
  let afterMB = 0;
  await withInstrumentations({ sockscope: { exchanges: 'all' } }, pipe.provider, async () => {
    const client = await RawClient.connect(peer);
    await client.loop(warmup);
    beforeMB = await heapMB(flush);
    points.push({ at: 0, heapMB: beforeMB });
    const step = Math.ceil(count / checkpoints);
    for (let done = 0; done < count;) {
      const n = Math.min(step, count - done);
      await client.loop(n);
      done += n;
      points.push({ at: done, heapMB: await heapMB(flush) });
    }
    afterMB = points[points.length - 1].heapMB;
    await client.close();
  });
  const afterCloseMB = await heapMB();
  const counts: SpanCounts = await pipe.close();
  const total = count + warmup;
  return {
    id: 'exchanges',
    title: `${count.toLocaleString('en-US')} exchanges on one socket`,
    count,
    beforeMB,
    afterMB,
    afterCloseMB,
    points,
    slopeMBPerMillion: slope(points),
    seconds: (Date.now() - t0) / 1e3,
    checks: [
      expectCount('exchange spans', counts.byKey['sockscope|exchange'], total),
      expectCount('connection spans', counts.byKey['sockscope|connection'], 1),
      expectCount('dropped spans', counts.dropped, 0),
    ],
    dropped: counts.dropped,
  };
}

export async function memorySockets(peer: Peer, count: number, checkpoints: number): Promise<MemoryRun> {
  const pipe = makePipeline({ coverage: true });
  const flush = () => pipe.provider.forceFlush();
  const concurrency = 50;
  const warmup = Math.min(500, Math.max(50, count / 20));
  const points: MemoryPoint[] = [];
  const t0 = Date.now();
  let beforeMB = 0;
  let afterMB = 0;
  const batch = async (n: number) => {
    for (let i = 0; i < n; i += concurrency) {
      const k = Math.min(concurrency, n - i);
      await Promise.all(Array.from({ length: k }, () => churnOnce(peer)));
    }
  };
  await withInstrumentations({ sockscope: { exchanges: 'all' } }, pipe.provider, async () => {
    await batch(warmup);
    beforeMB = await heapMB(flush);
    points.push({ at: 0, heapMB: beforeMB });
    const step = Math.ceil(count / checkpoints);
    for (let done = 0; done < count;) {
      const n = Math.min(step, count - done);
      await batch(n);
      done += n;
      points.push({ at: done, heapMB: await heapMB(flush) });
    }
    afterMB = points[points.length - 1].heapMB;
  });
  const afterCloseMB = await heapMB();
  const counts = await pipe.close();
  const total = count + warmup;
  return {
    id: 'sockets',
    title: `${count.toLocaleString('en-US')} sockets opened and closed`,
    count,
    beforeMB,
    afterMB,
    afterCloseMB,
    points,
    slopeMBPerMillion: slope(points),
    seconds: (Date.now() - t0) / 1e3,
    checks: [
      expectCount('connection spans', counts.byKey['sockscope|connection'], total),
      expectCount('exchange spans', counts.byKey['sockscope|exchange'], total),
      expectCount('dropped spans', counts.dropped, 0),
      check('all sockets closed', true, `${total} opened and closed`),
    ],
    dropped: counts.dropped,
  };
}

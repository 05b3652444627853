/**
 * Scenarios 1, 2, 3, 5 and 6: sequential round trips on one raw `net.Socket` against a peer in
 * another process (Redis PING, or the echo child).
 *   raw       1  no instrumentation (the baseline)
 *   floor     3  one bare SDK span per round trip, ten attributes and one link
 *   all       2  sockscope `exchanges: 'all'` with a BatchSpanProcessor
 *   unsampled 5  sockscope 'all', the loop inside a parent the ParentBasedSampler dropped
 *   none      6  sockscope `exchanges: 'none'` (connection spans only)
 *   control   1  raw again, as if it were another variant: an A/A test of the run's own noise
 */
import { ROOT_CONTEXT, SpanKind, context } from '@opentelemetry/api';
import {
  check,
  expectCount,
  measure,
  type BlockResult,
  type Check,
  type GroupDef,
  type Sample,
} from '../lib/harness';
import { makePipeline, startFloorSpan, unsampledContext, withInstrumentations } from '../lib/otel';
import { RawClient, type Peer } from '../lib/peers';

export interface LoopSizes {
  ops: number;
  warmup: number;
}

const SCOPE = 'sockscope';

async function rawBlock(peer: Peer, s: LoopSizes, asString = false): Promise<Sample> {
  const client = await RawClient.connect(peer, asString);
  await client.loop(s.warmup);
  const sample = await measure(s.ops, () => client.loop(s.ops));
  await client.close();
  return sample;
}

/** sockscope with `exchanges` set, optionally inside an unsampled parent. */
async function sockscopeBlock(
  peer: Peer,
  s: LoopSizes,
  exchanges: 'all' | 'none',
  unsampled: boolean,
  asString = false,
): Promise<BlockResult> {
  // With its coverage processor, as `sockscope/register` sets it up: its cost is sockscope's.
  const pipe = makePipeline({ coverage: true });
  const sample = await withInstrumentations({ sockscope: { exchanges } }, pipe.provider, async () => {
    const client = await RawClient.connect(peer, asString); // connected at the root: its span is sampled
    const inParent = unsampled ? unsampledContext(pipe.provider) : undefined;
    const ctx = inParent?.ctx ?? ROOT_CONTEXT;
    const result = await context.with(ctx, async () => {
      await client.loop(s.warmup);
      return measure(s.ops, () => client.loop(s.ops));
    });
    inParent?.parent.end();
    await client.close();
    return result;
  });
  const counts = await pipe.close();
  const total = s.ops + s.warmup;
  const checks: Check[] = [
    expectCount('connection spans', counts.byKey[`${SCOPE}|connection`], 1),
    expectCount(
      'exchange spans',
      counts.byKey[`${SCOPE}|exchange`] ?? 0,
      exchanges === 'all' && !unsampled ? total : 0,
    ),
    expectCount('dropped spans', counts.dropped, 0),
  ];
  const conn = counts.connections[0];
  if (conn !== undefined) {
    checks.push(
      expectCount(
        'sockscope.exchanges on the connection span',
        Number(conn.attributes['sockscope.exchanges']),
        total,
      ),
    );
  }
  if (unsampled) checks.push(expectCount('exported spans', counts.exported, 1));
  return {
    sample,
    checks,
    dropped: counts.dropped,
    spans: counts.byKey,
    totalOps: s.ops + s.warmup,
    names: counts.names,
  };
}

async function floorBlock(peer: Peer, s: LoopSizes): Promise<BlockResult> {
  const pipe = makePipeline();
  const tracer = pipe.provider.getTracer('bench-floor');
  const sample = await withInstrumentations({}, undefined, async () => {
    const client = await RawClient.connect(peer);
    // Stands in for the connection span the exchange spans link to.
    const conn = tracer.startSpan('tcp connect', { kind: SpanKind.CLIENT });
    const len = peer.request.length;
    const loop = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const span = startFloorSpan(tracer, conn, peer.host, peer.port, len, peer.responseLength);
        await client.roundTrip();
        span.end();
      }
    };
    await loop(s.warmup);
    const result = await measure(s.ops, () => loop(s.ops));
    await client.close();
    conn.end();
    return result;
  });
  const counts = await pipe.close();
  const checks = [
    expectCount('floor spans', counts.byKey['bench-floor|exchange'], s.ops + s.warmup),
    expectCount('dropped spans', counts.dropped, 0),
  ];
  return {
    sample,
    checks,
    dropped: counts.dropped,
    spans: counts.byKey,
    totalOps: s.ops + s.warmup,
    names: counts.names,
  };
}

/**
 * The loop group of one peer. `asString`: the request written as a latin1 string, as ioredis
 * writes (the groups `loop-redis-string` and `loop-echo-string`: raw, unsampled, none and the
 * control only, the variants issue 18's targets name).
 */
export function loopGroup(peer: Peer, s: LoopSizes, asString = false): GroupDef {
  const name = peer.name === 'redis' ? 'Redis PING' : 'echo child';
  const rawVariant = (id: string, label: string) => ({
    id,
    label,
    run: async () => ({
      sample: await withInstrumentations({}, undefined, () => rawBlock(peer, s, asString)),
      checks: [check('no instrumentation enabled', true, 'prototype pristine')],
      dropped: 0,
      spans: {},
      totalOps: s.ops + s.warmup,
    }),
  });
  const raw = rawVariant('raw', '1 raw net.Socket, no instrumentation');
  const control = rawVariant('control', "1' raw again (A/A control: this run's own noise)");
  const unsampled = {
    id: 'unsampled',
    label: "5 sockscope 'all', unsampled parent",
    run: () => sockscopeBlock(peer, s, 'all', true, asString),
  };
  const none = {
    id: 'none',
    label: "6 sockscope exchanges:'none'",
    run: () => sockscopeBlock(peer, s, 'none', false, asString),
  };
  if (asString) {
    return {
      id: `loop-${peer.name}-string`,
      title: `Request loop, ${name}, string writes (scenarios 1, 5, 6)`,
      unit: 'round trip',
      baseline: 'raw',
      variants: [raw, control, unsampled, none],
    };
  }
  return {
    id: `loop-${peer.name}`,
    title: `Request loop, ${name} (scenarios 1, 2, 3, 5, 6)`,
    unit: 'round trip',
    baseline: 'raw',
    variants: [
      raw,
      { id: 'floor', label: '3 floor: bare SDK span per round trip', run: () => floorBlock(peer, s) },
      control,
      { id: 'all', label: "2 sockscope exchanges:'all'", run: () => sockscopeBlock(peer, s, 'all', false) },
      unsampled,
      none,
    ],
  };
}

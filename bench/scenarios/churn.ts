/**
 * Scenario 7: connection churn. Connect, one round trip, close, in a loop, against the echo child:
 *   none       no instrumentation
 *   net        @opentelemetry/instrumentation-net (a `tcp.connect` span per connection; the baseline)
 *   sockscope  sockscope with its defaults (a connection span and an exchange span per connection)
 *   nocaller   the same without the caller-package stack capture (informative)
 *   control    instrumentation-net again: the A/A control
 */
import { check, expectCount, measure, type BlockResult, type Check, type GroupDef } from '../lib/harness';
import { makePipeline, withInstrumentations, type InstrumentationSet } from '../lib/otel';
import { churnOnce, type Peer } from '../lib/peers';
import type { LoopSizes } from './loop';

type Mode = 'none' | 'net' | 'sockscope' | 'nocaller';

async function churn(peer: Peer, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await churnOnce(peer);
}

async function block(peer: Peer, s: LoopSizes, mode: Mode): Promise<BlockResult> {
  const pipe = mode === 'none' ? undefined : makePipeline({ coverage: mode !== 'net' });
  const set: InstrumentationSet = {};
  if (mode === 'net') set.net = true;
  if (mode === 'sockscope') set.sockscope = { exchanges: 'all' };
  if (mode === 'nocaller') set.sockscope = { exchanges: 'all', captureCallerPackage: false };
  const sample = await withInstrumentations(set, pipe?.provider, async () => {
    await churn(peer, s.warmup);
    return measure(s.ops, () => churn(peer, s.ops));
  });
  if (pipe === undefined) {
    const checks = [check('no instrumentation enabled', true, 'prototype pristine before and after')];
    return { sample, checks, dropped: 0, spans: {}, totalOps: s.ops + s.warmup };
  }
  const counts = await pipe.close();
  const total = s.ops + s.warmup;
  const c = counts.byKey;
  const checks: Check[] = [expectCount('dropped spans', counts.dropped, 0)];
  if (mode === 'net') {
    checks.push(
      expectCount(
        'instrumentation-net tcp.connect spans',
        c['@opentelemetry/instrumentation-net|tcp.connect'],
        total,
      ),
    );
    checks.push(
      expectCount('sockscope spans', (c['sockscope|connection'] ?? 0) + (c['sockscope|exchange'] ?? 0), 0),
    );
  } else {
    checks.push(expectCount('sockscope connection spans', c['sockscope|connection'], total));
    checks.push(expectCount('sockscope exchange spans', c['sockscope|exchange'], total));
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

export function churnGroup(peer: Peer, s: LoopSizes): GroupDef {
  return {
    id: 'churn',
    title: 'Connection churn: connect, one round trip, close (scenario 7)',
    unit: 'connection',
    baseline: 'net',
    variants: [
      { id: 'none', label: 'no instrumentation', run: () => block(peer, s, 'none') },
      { id: 'net', label: 'instrumentation-net', run: () => block(peer, s, 'net') },
      { id: 'sockscope', label: 'sockscope (defaults)', run: () => block(peer, s, 'sockscope') },
      {
        id: 'nocaller',
        label: 'sockscope, captureCallerPackage: false (informative: the stack capture at connect)',
        run: () => block(peer, s, 'nocaller'),
      },
      {
        id: 'control',
        label: "instrumentation-net again (A/A control: this run's own noise)",
        run: () => block(peer, s, 'net'),
      },
    ],
  };
}

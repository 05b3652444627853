/**
 * n+1: the same operation to the same server, repeated one after another under one parent (a
 * loop making one query per item), at least `nPlusOneMin` times. See docs/report.md.
 */
import { EPS } from './finding';
import type { ReportThresholds } from './thresholds';
import type { Call } from './trace-model';

/** Sequential runs in start order: each call starts once the previous one has ended. */
function sequentialRuns(calls: Call[]): Call[][] {
  const runs: Call[][] = [];
  let run: Call[] = [];
  for (const c of calls) {
    const prev = run[run.length - 1];
    if (prev !== undefined && c.startMs < prev.endMs - EPS) {
      runs.push(run);
      run = [];
    }
    run.push(c);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** The n+1 runs among `group` (calls under one sequencing parent, by start time), leaving out `repeats`. */
export function nPlusOne(group: Call[], repeats: Set<Call>, t: ReportThresholds): Call[][] {
  const byOp = new Map<string, Call[]>();
  for (const c of group) {
    if (repeats.has(c)) continue;
    if (c.operation === '' || c.klass === 'setup' || c.klass === 'transaction' || c.klass === 'unknown')
      continue;
    // The statement's shape, when known, tells a loop of one query from different queries.
    const key = `${c.server}\u0000${c.protocol}\u0000${c.operation.toUpperCase()}\u0000${c.statement ?? ''}`;
    const list = byOp.get(key);
    if (list === undefined) byOp.set(key, [c]);
    else list.push(c);
  }
  const out: Call[][] = [];
  for (const list of byOp.values()) {
    if (list.length < t.nPlusOneMin) continue;
    for (const run of sequentialRuns(list)) if (run.length >= t.nPlusOneMin) out.push(run);
  }
  return out;
}

/**
 * serial: independent reads made one after another that could run together. Writes, transactions,
 * retries and unknown calls order what comes after them, so they end a run. See docs/report.md.
 */
import { EPS, longest, mostRoundTrips, type Savings } from './finding';
import type { ReportThresholds } from './thresholds';
import type { Call } from './trace-model';

/** Serial runs: independent reads made one after another. See docs/report.md for what is excluded. */
export function serialRuns(
  group: Call[],
  excluded: { has(call: Call): boolean },
  t: ReportThresholds,
): Array<{ calls: Call[]; savings: Savings }> {
  const out: Array<{ calls: Call[]; savings: Savings }> = [];
  // A stage is a set of calls already running together (overlapping); a run is a chain of stages.
  let stages: Call[][] = [];
  let stageEnd = -Infinity;
  const flush = (): void => {
    if (stages.length >= 2) {
      const calls = stages.flat();
      let sum = 0;
      let depth = 0; // round trips one after another: a stage's calls already run together
      for (const st of stages) {
        sum += st.reduce((end, c) => Math.max(end, c.endMs), -Infinity) - st[0].startMs;
        depth += mostRoundTrips(st);
      }
      out.push({ calls, savings: { ms: sum - longest(calls), roundTrips: depth - mostRoundTrips(calls) } });
    }
    stages = [];
    stageEnd = -Infinity;
  };
  for (const c of group) {
    if (c.klass === 'setup') continue; // a pooled connection opening mid-request is not the code's doing
    const eligible = c.klass === 'read' && !c.inTransaction && !c.error && !excluded.has(c);
    if (!eligible) {
      flush(); // writes, transactions, retries and unknown calls order what comes after them
      continue;
    }
    if (stages.length > 0 && c.startMs < stageEnd - EPS) {
      stages[stages.length - 1].push(c);
    } else {
      if (stages.length > 0 && c.startMs - stageEnd > t.serialMaxGapMs) flush();
      stages.push([c]);
    }
    stageEnd = Math.max(stageEnd, c.endMs);
  }
  flush();
  return out;
}

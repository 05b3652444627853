/** A capture compared with its recorded budget: what grew or appeared (fails), what shrank (reported). */
import type { RecordedBudget } from './budget-file';
import type { NetworkCount, NetworkExchange } from './types';
import { describeLocation, type BudgetViolation } from './violations';

export interface Shrunk {
  server: string;
  operation: string;
  recorded: number;
  now: number;
}

export interface Comparison {
  violations: BudgetViolation[];
  shrunk: Shrunk[];
}

/** Compares counts with a recorded budget. `exchanges` (optional) point violations at code. */
export function compareWithRecorded(
  counts: readonly NetworkCount[],
  recorded: RecordedBudget,
  exchanges: readonly NetworkExchange[] = [],
): Comparison {
  const violations: BudgetViolation[] = [];
  for (const c of counts) {
    const ops = recorded[c.server];
    const allowed = ops?.[c.operation];
    if (allowed !== undefined && c.count <= allowed) continue;
    const limit = allowed ?? 0;
    // The first call beyond the recorded count: usually the one a change added.
    const first = exchanges.filter(
      (e) => e.phase === 'operation' && e.server === c.server && e.operation === c.operation,
    )[limit];
    violations.push({
      rule: ops === undefined ? 'new server' : allowed === undefined ? 'new operation' : 'more calls',
      operation: c.operation,
      server: c.server,
      allowed: String(limit),
      happened: allowed === undefined ? String(c.count) : `${c.count} (+${c.count - allowed})`,
      where: describeLocation(undefined, first?.location),
    });
  }
  const shrunk: Shrunk[] = [];
  for (const server of Object.keys(recorded).sort()) {
    for (const operation of Object.keys(recorded[server]).sort()) {
      const n = recorded[server][operation];
      const now = counts.find((c) => c.server === server && c.operation === operation)?.count ?? 0;
      if (now < n) shrunk.push({ server, operation, recorded: n, now });
    }
  }
  return { violations, shrunk };
}

/** Recorded counts as a flat sorted list (for the "Allowed:" line). */
export function describeRecorded(recorded: RecordedBudget): string[] {
  const out: string[] = [];
  for (const server of Object.keys(recorded).sort()) {
    for (const op of Object.keys(recorded[server]).sort())
      out.push(`${server} ${op} <= ${recorded[server][op]}`);
  }
  return out;
}

/**
 * The one place sockscope/testing calls the analysis behind `sockscope report`, so captures and
 * the report find the same duplicates, serial calls and N+1 loops.
 */
import { analyseTraces, findFindings, type Finding, type UnitInstance } from '../analysis/findings';
import type { TraceSpan } from '../analysis/model';

export type { Finding, UnitInstance };

/**
 * Every finding, however small: on loopback a duplicated call saves well under the report's
 * default minimum of 1 ms, yet it is exactly what a test wants to catch.
 */
export function captureFindings(spans: TraceSpan[]): Finding[] {
  return findFindings(spans, { minSavingsMs: 0 });
}

/** Units (traced functions, entry spans) with their calls and findings, for `sockscope budget check`. */
export function analyseUnits(spans: Iterable<TraceSpan>): UnitInstance[] {
  return analyseTraces(spans, { minSavingsMs: 0 }).units;
}

export { unionLength } from '../analysis/findings';

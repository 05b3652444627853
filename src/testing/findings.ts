/**
 * The one place sockscope/testing calls the analysis behind `sockscope report`, so captures and
 * the report find the same duplicates, serial calls and N+1 loops.
 */
import { analyzeTraces, detectFindings, type Finding, type UnitInstance } from '../analysis/findings';
import type { TraceSpan } from '../analysis/model';
import { unionWithin } from '../analysis/report';

export type { Finding, UnitInstance };

/**
 * Every finding, however small: on loopback a duplicated call saves well under the report's
 * default minimum of 1 ms, yet it is exactly what a test wants to catch.
 */
export function captureFindings(spans: TraceSpan[]): Finding[] {
  return detectFindings(spans, { minSavingsMs: 0 });
}

/** Units (traced functions, entry spans) with their calls and findings, for `sockscope budget check`. */
export function analyzeUnits(spans: Iterable<TraceSpan>): UnitInstance[] {
  return analyzeTraces(spans, { minSavingsMs: 0 }).units;
}

/** Time covered by at least one of the intervals (overlapping calls count once). */
export function unionLength(intervals: Array<[number, number]>): number {
  return unionWithin(intervals, -Infinity, Infinity);
}

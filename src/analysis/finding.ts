/**
 * A finding: calls under one unit that could be fewer, or run together. The detectors find the
 * calls; `makeFinding` describes them in the shape `sockscope report --json` prints.
 */
import { projectAtRtt } from './rtt';
import type { Call, UnitInstance } from './trace-model';

export type FindingType = 'duplicate' | 'serial' | 'n+1';

/** One finding in one trace. */
export interface Finding {
  type: FindingType;
  /** The unit (traced function or entry span) the calls were made under. */
  function: string;
  /** `service.name` of the unit, when known. */
  service: string | undefined;
  traceId: string;
  /** Span id of the unit occurrence (the traced function's or entry span's span). */
  unitSpanId: string;
  /** `host:port` of the server; several, comma-separated, for a serial finding across servers. */
  server: string;
  /** Protocol(s), comma-separated like `server`. */
  protocol: string;
  /** `{protocol} {operation}` of the calls, e.g. `postgresql SELECT`; several comma-separated. */
  operation: string;
  /** Number of calls involved. */
  count: number;
  /** Span ids of the exchanges involved (for a call without exchange span, its upstream span), in start order. */
  exchanges: string[];
  /** Time the fix would save in this occurrence, ms (rounded to microseconds), as measured. */
  estimatedSavingsMs: number;
  /**
   * Network round trips the fix removes from this occurrence: a duplicate of k requests k-1, an
   * n+1 of k calls batched into one k-1, a serial run of n calls made in parallel n-1 (calls
   * already overlapping count once). A call recorded as several exchanges counts each.
   */
  roundTripsSaved: number;
  /**
   * Only when an `rttMs` was given: `estimatedSavingsMs + roundTripsSaved x rttMs`, the savings at
   * that production round-trip time (loopback round trips cost next to nothing; production's do not).
   */
  projectedSavingsMs?: number;
}

function describeCalls(calls: Call[]): Pick<Finding, 'server' | 'protocol' | 'operation' | 'exchanges'> {
  const uniq = (xs: string[]): string => [...new Set(xs)].join(', ');
  return {
    server: uniq(calls.map((c) => c.server)),
    protocol: uniq(calls.map((c) => c.protocol)),
    operation: uniq(calls.map((c) => (c.operation ? `${c.protocol} ${c.operation}` : c.protocol))),
    exchanges: calls.flatMap((c) => c.reportIds),
  };
}

/** What a fix would save: measured time, and round trips removed. */
export interface Savings {
  ms: number;
  roundTrips: number;
}

/**
 * The finding of `type` for `calls` under `unit`, saving `savings`; with `rttMs`, also the
 * savings projected at that round-trip time.
 */
export function makeFinding(
  type: FindingType,
  unit: UnitInstance,
  calls: Call[],
  savings: Savings,
  rttMs?: number,
): Finding {
  const sorted = [...calls].sort((a, b) => a.startMs - b.startMs);
  const estimatedSavingsMs = round3(savings.ms);
  return {
    type,
    function: unit.name,
    service: unit.service,
    traceId: unit.traceId,
    unitSpanId: unit.spanId,
    ...describeCalls(sorted),
    count: calls.length,
    estimatedSavingsMs,
    roundTripsSaved: savings.roundTrips,
    ...(rttMs !== undefined ? { projectedSavingsMs: savingsAt(savings, rttMs) } : {}),
  };
}

/**
 * The figure a finding with these savings is ranked and held to the floor by, as it would be
 * listed: rounded to microseconds, projected at `rttMs` when given. Computed without building the
 * finding, so one left out costs next to nothing.
 */
export function savingsAt(savings: Savings, rttMs: number | undefined): number {
  const ms = round3(savings.ms);
  return rttMs === undefined ? ms : projectAtRtt(ms, savings.roundTrips, rttMs);
}

/** The savings a finding is ranked by: projected when an RTT was given, else as measured. */
export function rankedSavings(f: Pick<Finding, 'estimatedSavingsMs' | 'projectedSavingsMs'>): number {
  return f.projectedSavingsMs ?? f.estimatedSavingsMs;
}

/** Largest ranked savings first (a sort comparator). */
export function bySavings(a: Finding, b: Finding): number {
  return rankedSavings(b) - rankedSavings(a) || b.estimatedSavingsMs - a.estimatedSavingsMs;
}

/** Duration of a call, ms. */
export function duration(c: Call): number {
  return c.endMs - c.startMs;
}

/** The longest call's duration (a loop, not a spread: a run may hold more calls than a call has arguments). */
export function longest(calls: readonly Call[]): number {
  let max = -Infinity;
  for (const c of calls) if (duration(c) > max) max = duration(c);
  return max;
}

/** Summed round trips of the calls. */
export function totalRoundTrips(calls: readonly Call[]): number {
  let sum = 0;
  for (const c of calls) sum += c.roundTrips;
  return sum;
}

/** The most round trips one of the calls made. */
export function mostRoundTrips(calls: readonly Call[]): number {
  let max = 0;
  for (const c of calls) if (c.roundTrips > max) max = c.roundTrips;
  return max;
}

/** Summed durations of the calls. */
export function totalDuration(calls: readonly Call[]): number {
  let sum = 0;
  for (const c of calls) sum += duration(c);
  return sum;
}

/** Rounded to microseconds, as every time in the report's JSON. */
export const round3 = (n: number): number => Math.round(n * 1000) / 1000;

/** 1 µs: Jaeger and Zipkin round times to microseconds, so calls closer than this touch. */
export const EPS = 0.001;

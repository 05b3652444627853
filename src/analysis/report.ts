/**
 * The report: per traced function or entry span (aggregated over its calls), how many network
 * round trips it made, how long they took by server and protocol, the share of its wall time
 * spent on the network, and its findings. `sockscope report --json` prints `Report`.
 */
import type { TraceSpan } from './model';
import {
  analyzeTraces,
  rankedSavings,
  type AnalysisOptions,
  type Call,
  type Finding,
  type FindingType,
  type ReportThresholds,
  type TraceAnalysis,
  type UnitInstance,
} from './findings';
import { bySavings, round3 } from './finding';

/** Network use of one function towards one server over one protocol. */
export interface ServerUsage {
  /** `host:port` (or a unix socket path). */
  server: string;
  /** `network.protocol.name` (`postgresql`, `redis`, `http`...), else the transport (`tcp`, `unix`). */
  protocol: string;
  /** Round trips: exchange spans, plus upstream client spans that covered no exchange in the data. */
  exchanges: number;
  /** Time with at least one round trip to this server in flight, inside the function's span, summed over calls (ms). */
  timeMs: number;
}

/** One traced function or entry span, aggregated over every call of it in the input. */
export interface FunctionReport {
  /** `sockscope.function` of a traced function, the entry span's name, or `(no parent span)`. */
  name: string;
  /** `service.name`, when the input names it. */
  service?: string;
  /** `function` (marked with traced()), `entry` (a root or SERVER/CONSUMER span), `orphans`. */
  kind: UnitInstance['kind'];
  /** How many times it ran (spans of it in the input). */
  calls: number;
  /** Network round trips made under it, inner traced functions included; a covered call counts once. */
  exchanges: number;
  /**
   * Time with at least one round trip in flight, inside its span, summed over calls (ms): the union
   * of the round trips' intervals, so calls that overlap count once.
   */
  networkTimeMs: number;
  /** Its spans' durations, summed over calls (ms). */
  wallTimeMs: number;
  /** networkTimeMs / wallTimeMs (0 when wallTimeMs is 0). */
  networkShare: number;
  /** Largest timeMs first. */
  byServer: ServerUsage[];
  /**
   * Every listed finding, each one occurrence in one trace, largest savings first
   * (`projectedSavingsMs` when an RTT was given, else `estimatedSavingsMs`).
   */
  findings: Finding[];
  /** Serial findings of this function left out for saving less than `thresholds.minSavingsMs`. */
  hiddenFindings: number;
}

export interface Report {
  /** Largest networkTimeMs first. */
  functions: FunctionReport[];
  /**
   * The thresholds applied. Only serial findings are held to `minSavingsMs` (projected savings
   * when `rttMs` is set); duplicates and n+1 loops are listed whatever they save.
   */
  thresholds: ReportThresholds;
  /** Serial findings left out, over all functions, for saving less than `thresholds.minSavingsMs`. */
  hiddenFindings: number;
  /** The production round-trip time savings were projected at (`--rtt`), when given. */
  rttMs?: number;
}

/** Findings of one kind with the same function, servers and operations, over all traces. */
export interface FindingSummary {
  type: FindingType;
  function: string;
  server: string;
  operation: string;
  /** How many traces (calls of the function) it occurred in. */
  occurrences: number;
  /** Largest number of calls involved in one occurrence. */
  maxCount: number;
  /** Largest number of round trips the fix removes from one occurrence. */
  maxRoundTripsSaved: number;
  /** Mean and largest estimated savings per occurrence (ms), as measured. */
  meanSavingsMs: number;
  maxSavingsMs: number;
  /** Summed over occurrences (ms): the sort key without an RTT. */
  totalSavingsMs: number;
  /** With an RTT only: the same three, projected at it (the total is then the sort key). */
  meanProjectedSavingsMs?: number;
  maxProjectedSavingsMs?: number;
  totalProjectedSavingsMs?: number;
  /** The occurrence with the largest savings (projected ones with an RTT). */
  example: Finding;
}

/** Length of the union of intervals, each clipped to [lo, hi]. */
export function unionWithin(intervals: Array<[number, number]>, lo: number, hi: number): number {
  const clipped = intervals
    .map(([a, b]): [number, number] => [Math.max(a, lo), Math.min(b, hi)])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let s = -Infinity;
  let e = -Infinity;
  for (const [a, b] of clipped) {
    if (a > e) {
      if (e > s) total += e - s;
      s = a;
      e = b;
    } else if (b > e) e = b;
  }
  if (e > s) total += e - s;
  return total;
}

interface Accumulator {
  name: string;
  service: string | undefined;
  kind: UnitInstance['kind'];
  calls: number;
  exchanges: number;
  networkTimeMs: number;
  wallTimeMs: number;
  byServer: Map<string, ServerUsage>;
  findings: Finding[];
  hiddenFindings: number;
}

function addInstance(acc: Accumulator, u: UnitInstance): void {
  acc.calls++;
  acc.wallTimeMs += Math.max(0, u.endMs - u.startMs);
  const all: Array<[number, number]> = [];
  const perServer = new Map<string, { usage: ServerUsage; intervals: Array<[number, number]> }>();
  for (const c of u.calls) {
    acc.exchanges += c.roundTrips;
    for (const iv of c.network) all.push(iv);
    const key = `${c.server}\u0000${c.protocol}`;
    let entry = perServer.get(key);
    if (entry === undefined) {
      entry = { usage: { server: c.server, protocol: c.protocol, exchanges: 0, timeMs: 0 }, intervals: [] };
      perServer.set(key, entry);
    }
    entry.usage.exchanges += c.roundTrips;
    for (const iv of c.network) entry.intervals.push(iv);
  }
  acc.networkTimeMs += unionWithin(all, u.startMs, u.endMs);
  for (const [key, { usage, intervals }] of perServer) {
    let total = acc.byServer.get(key);
    if (total === undefined) {
      total = { ...usage, exchanges: 0, timeMs: 0 };
      acc.byServer.set(key, total);
    }
    total.exchanges += usage.exchanges;
    total.timeMs += unionWithin(intervals, u.startMs, u.endMs);
  }
  for (const f of u.findings) acc.findings.push(f); // no spread: a unit may hold more than a call's arguments
}

/** Aggregate an analysis into the report, per function or entry span name (and service). */
export function buildReport(analysis: TraceAnalysis): Report {
  const byName = new Map<string, Accumulator>();
  const accOfUnit = new Map<UnitInstance, Accumulator>();
  for (const u of analysis.units) {
    const key = `${u.service ?? ''}\u0000${u.kind === 'orphans' ? '' : 'u'}\u0000${u.name}`;
    let acc = byName.get(key);
    if (acc === undefined) {
      acc = {
        name: u.name,
        service: u.service,
        kind: u.kind,
        calls: 0,
        exchanges: 0,
        networkTimeMs: 0,
        wallTimeMs: 0,
        byServer: new Map(),
        findings: [],
        hiddenFindings: 0,
      };
      byName.set(key, acc);
    }
    accOfUnit.set(u, acc);
    addInstance(acc, u);
  }
  for (const [u, n] of analysis.hiddenByUnit) {
    const acc = accOfUnit.get(u);
    if (acc !== undefined) acc.hiddenFindings += n;
  }
  const functions = [...byName.values()].map((a): FunctionReport => {
    const fr: FunctionReport = {
      name: a.name,
      ...(a.service !== undefined ? { service: a.service } : {}),
      kind: a.kind,
      calls: a.calls,
      exchanges: a.exchanges,
      networkTimeMs: round3(a.networkTimeMs),
      wallTimeMs: round3(a.wallTimeMs),
      networkShare: a.wallTimeMs > 0 ? Math.round((a.networkTimeMs / a.wallTimeMs) * 10000) / 10000 : 0,
      byServer: [...a.byServer.values()]
        .map((s) => ({ ...s, timeMs: round3(s.timeMs) }))
        .sort((x, y) => y.timeMs - x.timeMs || x.server.localeCompare(y.server)),
      findings: [...a.findings].sort(bySavings),
      hiddenFindings: a.hiddenFindings,
    };
    return fr;
  });
  functions.sort(
    (x, y) => y.networkTimeMs - x.networkTimeMs || y.exchanges - x.exchanges || x.name.localeCompare(y.name),
  );
  return {
    functions,
    thresholds: { ...analysis.thresholds },
    hiddenFindings: analysis.hiddenFindings,
    ...(analysis.rttMs !== undefined ? { rttMs: analysis.rttMs } : {}),
  };
}

/**
 * Analyze spans and build the report in one step.
 * @param options thresholds to override, and `rttMs` to project savings at (see `AnalysisOptions`)
 */
export function reportFromSpans(
  spans: Iterable<TraceSpan>,
  options: AnalysisOptions = {},
): { report: Report; analysis: TraceAnalysis } {
  const analysis = analyzeTraces(spans, options);
  return { report: buildReport(analysis), analysis };
}

/**
 * Findings grouped by type, function, servers and operations, largest total savings first
 * (projected savings when the findings carry them).
 */
export function summarizeFindings(findings: Iterable<Finding>): FindingSummary[] {
  const groups = new Map<string, Finding[]>();
  for (const f of findings) {
    const key = [f.type, f.service ?? '', f.function, f.server, f.operation].join('\u0000');
    const list = groups.get(key);
    if (list === undefined) groups.set(key, [f]);
    else list.push(f);
  }
  const out: FindingSummary[] = [];
  for (const list of groups.values()) {
    const total = list.reduce((a, f) => a + f.estimatedSavingsMs, 0);
    const example = list.reduce((best, f) => (rankedSavings(f) > rankedSavings(best) ? f : best));
    const projected = list.every((f) => f.projectedSavingsMs !== undefined);
    const totalProjected = list.reduce((a, f) => a + (f.projectedSavingsMs ?? 0), 0);
    out.push({
      type: example.type,
      function: example.function,
      server: example.server,
      operation: example.operation,
      occurrences: new Set(list.map((f) => `${f.traceId}/${f.unitSpanId}`)).size,
      maxCount: list.reduce((m, f) => Math.max(m, f.count), 0),
      maxRoundTripsSaved: list.reduce((m, f) => Math.max(m, f.roundTripsSaved), 0),
      meanSavingsMs: round3(total / list.length),
      maxSavingsMs: list.reduce((m, f) => Math.max(m, f.estimatedSavingsMs), 0),
      totalSavingsMs: round3(total),
      ...(projected
        ? {
            meanProjectedSavingsMs: round3(totalProjected / list.length),
            maxProjectedSavingsMs: list.reduce((m, f) => Math.max(m, f.projectedSavingsMs ?? 0), 0),
            totalProjectedSavingsMs: round3(totalProjected),
          }
        : {}),
      example,
    });
  }
  const key = (s: FindingSummary): number => s.totalProjectedSavingsMs ?? s.totalSavingsMs;
  return out.sort((a, b) => key(b) - key(a) || b.totalSavingsMs - a.totalSavingsMs);
}

/** The analysis types, re-exported for renderers. */
export type { AnalysisOptions, Call, Finding, FindingType, ReportThresholds, TraceAnalysis, UnitInstance };

/**
 * Waste findings: duplicate requests, serial calls that could run together, and N+1 loops, per
 * unit (traced function or entry span) of each trace. This file runs the detectors over a trace
 * model; the vocabulary (calls, units) is in trace-model.ts, the tunables in thresholds.ts and the
 * rules in docs/report.md.
 */
import { duplicateGroups } from './detect-duplicate';
import { nPlusOne } from './detect-n-plus-one';
import { serialRuns } from './detect-serial';
import {
  bySavings,
  longest,
  makeFinding,
  mostRoundTrips,
  savingsAt,
  totalDuration,
  totalRoundTrips,
  type Finding,
} from './finding';
import type { TraceSpan } from './model';
import { resolveThresholds, type ReportThresholds } from './thresholds';
import { isEntry, TraceModel, type Call, type UnitInstance } from './trace-model';
import { functionName } from './attributes';

export { DEFAULT_THRESHOLDS, resolveThresholds, type ReportThresholds } from './thresholds';
export type { Finding, FindingType } from './finding';
export { rankedSavings } from './finding';
export { ORPHANS_UNIT, type Call, type UnitInstance } from './trace-model';
export type { CallClass } from './operation-class';

/** Options of the analysis: any thresholds to override, and a round-trip time to project at. */
export interface AnalysisOptions extends Partial<ReportThresholds> {
  /**
   * A production round-trip time, in milliseconds (`sockscope report --rtt MS`). Development runs
   * on loopback, where a round trip costs tens of microseconds. When given, each finding also
   * carries `projectedSavingsMs` = `estimatedSavingsMs + roundTripsSaved x rttMs`
   * (`projectAtRtt`), findings are ranked by it, and the serial floor `minSavingsMs` applies to it.
   * Must be a positive number of milliseconds.
   * @default undefined (no projection: savings as measured)
   */
  rttMs?: number;
}

/** Everything the report needs from one set of spans. */
export interface TraceAnalysis {
  units: UnitInstance[];
  /** Network round trips in the input (each covered call once). */
  roundTrips: number;
  /** Listed findings: every duplicate and n+1, and serial findings at or above `minSavingsMs`; largest savings first. */
  findings: Finding[];
  /**
   * How many serial findings were left out for saving less than `thresholds.minSavingsMs`
   * (compared with the projected savings when `rttMs` is given), so the report can say so.
   * `minSavingsMs: 0` lists them all.
   */
  hiddenFindings: number;
  /** The same count per unit occurrence that lost any. */
  hiddenByUnit: Map<UnitInstance, number>;
  /** The thresholds applied (defaults with the overrides). */
  thresholds: ReportThresholds;
  /** The round-trip time savings were projected at, when one was given. */
  rttMs?: number;
  /** Spans by trace id, as given (the HTML waterfall draws them). */
  traces: Map<string, TraceSpan[]>;
  /** One line per problem in the input that the analysis worked around (a parent loop). */
  warnings: string[];
  /** Parent links followed: grows with calls times depth, never without bound. */
  parentSteps: number;
}

/**
 * The parent a call is judged under for serial and n+1: its parent, lifted past spans that wrap
 * only this one call (a traced helper, a GraphQL resolver, an ORM's internal span), so a loop over
 * `getItem()` is seen as the loop it is. Entry spans are never lifted past.
 */
function sequencingParent(
  model: TraceModel,
  call: Call,
  callsUnder: Map<string, number>,
): string | undefined {
  let p = call.parentSpanId;
  for (let n = 0; n <= model.byId.size; n++) {
    const span = p === undefined ? undefined : model.byId.get(p);
    if (span === undefined || isEntry(span, model.byId)) return p;
    if ((callsUnder.get(span.spanId) ?? 0) !== 1) return p;
    model.parentSteps++;
    p = span.parentSpanId;
  }
  return p;
}

function analyzeTrace(
  traceId: string,
  spans: TraceSpan[],
  t: ReportThresholds,
  rttMs: number | undefined,
  hidden: Map<UnitInstance, number>,
): { units: UnitInstance[]; roundTrips: number; warnings: string[]; parentSteps: number } {
  const model = new TraceModel(traceId, spans);
  const chains = new Map<Call, UnitInstance[]>();
  for (const c of model.calls) {
    const chain = model.unitChain(c.parentSpanId);
    chains.set(c, chain);
    for (const u of chain) u.calls.push(c);
  }
  // Traced functions and entry spans are units even when they made no call.
  for (const s of model.byId.values()) {
    if (functionName(s) !== undefined && !model.callOf.has(s.spanId)) model.unitChain(s.spanId);
  }
  for (const u of model.units.values()) {
    if (u.kind === 'orphans') {
      for (const c of u.calls) {
        u.startMs = Math.min(u.startMs, c.startMs);
        u.endMs = Math.max(u.endMs, c.endMs);
      }
    }
  }
  const innermost = (spanId: string | undefined): UnitInstance => model.unitChain(spanId)[0];

  // Duplicates: within each entry span's calls; reported at the innermost unit holding them all.
  const repeats = new Set<Call>();
  const byEntry = new Map<UnitInstance, Call[]>();
  for (const c of model.calls) {
    const chain = chains.get(c) ?? [];
    const entry = chain[chain.length - 1];
    const list = byEntry.get(entry);
    if (list === undefined) byEntry.set(entry, [c]);
    else list.push(c);
  }
  for (const calls of byEntry.values()) {
    for (const group of duplicateGroups(calls)) {
      // Only the first request is needed: the repeats are never reported again as serial or n+1.
      for (const r of group.slice(1)) repeats.add(r);
      const memberChains = group.map((c) => chains.get(c) ?? []);
      const unit = memberChains[0].find((u) => memberChains.every((ch) => ch.includes(u)));
      if (unit === undefined) continue;
      // Keep the first request; the repeats are the waste. Listed whatever they save (see thresholds.ts).
      const copies = group.slice(1);
      const savings = { ms: totalDuration(copies), roundTrips: totalRoundTrips(copies) };
      unit.findings.push(makeFinding('duplicate', unit, group, savings, rttMs));
    }
  }

  // n+1 and serial: per sequencing parent.
  const callsUnder = model.callsUnder();
  const byParent = new Map<string, Call[]>();
  for (const c of model.calls) {
    const key = sequencingParent(model, c, callsUnder) ?? '';
    const list = byParent.get(key);
    if (list === undefined) byParent.set(key, [c]);
    else list.push(c);
  }
  for (const [parent, group] of byParent) {
    const unit = innermost(parent === '' ? undefined : parent);
    // Not a copy of `repeats` per group: that made many small groups quadratic.
    const inRuns = new Set<Call>();
    const excluded = { has: (c: Call): boolean => repeats.has(c) || inRuns.has(c) };
    for (const run of nPlusOne(group, repeats, t)) {
      for (const c of run) inRuns.add(c);
      // One batched request remains: about the longest call. Listed whatever it saves.
      const savings = {
        ms: totalDuration(run) - longest(run),
        roundTrips: totalRoundTrips(run) - mostRoundTrips(run),
      };
      unit.findings.push(makeFinding('n+1', unit, run, savings, rttMs));
    }
    for (const { calls, savings } of serialRuns(group, excluded, t)) {
      if (savingsAt(savings, rttMs) >= t.minSavingsMs)
        unit.findings.push(makeFinding('serial', unit, calls, savings, rttMs));
      else hidden.set(unit, (hidden.get(unit) ?? 0) + 1);
    }
  }
  for (const u of model.units.values()) u.findings.sort(bySavings);
  return {
    units: [...model.units.values()],
    roundTrips: model.calls.reduce((a, c) => a + c.roundTrips, 0),
    warnings: model.warnings,
    parentSteps: model.parentSteps,
  };
}

/** Group spans by trace id, keeping input order within each trace. */
export function groupByTrace(spans: Iterable<TraceSpan>): Map<string, TraceSpan[]> {
  const traces = new Map<string, TraceSpan[]>();
  for (const s of spans) {
    const id = s.traceId.toLowerCase();
    const list = traces.get(id);
    if (list === undefined) traces.set(id, [s]);
    else list.push(s);
  }
  return traces;
}

/**
 * `options.rttMs`, checked.
 * @throws RangeError naming the value when it is not a positive, finite number of milliseconds
 */
export function resolveRtt(rttMs: unknown): number | undefined {
  if (rttMs === undefined) return undefined;
  if (typeof rttMs !== 'number' || !Number.isFinite(rttMs) || rttMs <= 0) {
    throw new RangeError(`rttMs must be a positive number of milliseconds, got ${String(rttMs)}`);
  }
  return rttMs;
}

/**
 * Analyze spans of any number of traces: units (traced functions, entry spans), their calls, and
 * the findings, each trace on its own.
 * @param options thresholds to override, and `rttMs` to project savings at a production round trip
 * @throws RangeError when a threshold or `rttMs` is out of range
 */
export function analyzeTraces(spans: Iterable<TraceSpan>, options: AnalysisOptions = {}): TraceAnalysis {
  const t = resolveThresholds(options);
  const rttMs = resolveRtt(options.rttMs);
  const traces = groupByTrace(spans);
  const units: UnitInstance[] = [];
  const warnings: string[] = [];
  const hiddenByUnit = new Map<UnitInstance, number>();
  let roundTrips = 0;
  let parentSteps = 0;
  for (const [traceId, list] of traces) {
    const r = analyzeTrace(traceId, list, t, rttMs, hiddenByUnit);
    for (const u of r.units) units.push(u);
    for (const w of r.warnings) warnings.push(w);
    roundTrips += r.roundTrips;
    parentSteps += r.parentSteps;
  }
  const findings = units.flatMap((u) => u.findings).sort(bySavings);
  let hiddenFindings = 0;
  for (const n of hiddenByUnit.values()) hiddenFindings += n;
  return {
    units,
    roundTrips,
    findings,
    hiddenFindings,
    hiddenByUnit,
    thresholds: t,
    ...(rttMs !== undefined ? { rttMs } : {}),
    traces,
    warnings,
    parentSteps,
  };
}

/** The listed findings alone, largest savings first (projected ones when `options.rttMs` is given). */
export function detectFindings(spans: Iterable<TraceSpan>, options: AnalysisOptions = {}): Finding[] {
  return analyzeTraces(spans, options).findings;
}

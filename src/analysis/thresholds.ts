/**
 * The tunables of the findings, with their defaults, in one place (see docs/report.md).
 */

/** Every tunable of the findings, in one place. Override any subset with `resolveThresholds`. */
export interface ReportThresholds {
  /**
   * Serial findings whose savings are below this many milliseconds are not listed (they are
   * counted, and the report says so). Duplicates and n+1 loops are listed whatever they save: on
   * loopback a duplicated Redis GET saves 0.1 ms, yet it is a real round trip in production. Two
   * independent reads in a row are common and often cheap, so serial keeps a floor. When an
   * `rttMs` is given, the floor applies to the savings projected at that round trip.
   * @default 1
   */
  minSavingsMs: number;
  /**
   * serial: the longest idle time (ms) between one call's end and the next call's start for the
   * two to count as made "one after another". A longer gap means the code did real work between
   * them (usually processing the first result), which is rarely a simple `await a; await b`.
   * @default 10
   */
  serialMaxGapMs: number;
  /**
   * n+1: how many times the same protocol and operation to the same server must repeat, one after
   * another under one parent, to be reported.
   * @default 5
   */
  nPlusOneMin: number;
}

/** The defaults. Frozen: copy with `resolveThresholds({...})` to change them. */
export const DEFAULT_THRESHOLDS: Readonly<ReportThresholds> = Object.freeze({
  minSavingsMs: 1,
  serialMaxGapMs: 10,
  nPlusOneMin: 5,
});

/**
 * The defaults with `overrides` applied.
 * @throws RangeError when a value is not a finite number in range (nPlusOneMin: integer >= 2)
 */
export function resolveThresholds(overrides: Partial<ReportThresholds> = {}): ReportThresholds {
  const t: ReportThresholds = { ...DEFAULT_THRESHOLDS };
  for (const key of Object.keys(DEFAULT_THRESHOLDS) as Array<keyof ReportThresholds>) {
    const v = overrides[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new RangeError(`threshold ${key} must be a non-negative number, got ${String(v)}`);
    }
    t[key] = v;
  }
  if (!Number.isInteger(t.nPlusOneMin) || t.nPlusOneMin < 2) {
    throw new RangeError(`threshold nPlusOneMin must be an integer >= 2, got ${t.nPlusOneMin}`);
  }
  return t;
}

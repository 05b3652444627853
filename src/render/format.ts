/**
 * Numbers as people read them, shared by the terminal and the HTML report.
 *
 * Durations (`formatMs`), one rule everywhere: below 1 ms two decimals (`0.25 ms`), below 10 ms
 * one (`4.5 ms`), below 1 s whole milliseconds (`850 ms`), below 10 s seconds with two decimals
 * (`1.23 s`), below 1 min one (`45.0 s`), then minutes with one (`2.0 min`). `toFixed` rounds
 * half away from zero on the binary value. A value that is not a finite number prints as `?`.
 */

/** `850 ms`, `12.3 s`, `0.40 ms`; see the module comment for the rule. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  if (ms === 0) return '0 ms';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** A total per call: whole when it divides evenly, else one decimal. */
export function perCall(total: number, calls: number): string {
  const v = total / Math.max(1, calls);
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** A round-trip time as the user gave it (`--rtt 1` is `1 ms RTT`, not `1.0 ms RTT`). */
export function formatRtt(rttMs: number): string {
  return `${rttMs} ms RTT`;
}

/**
 * Savings as people read them: `~0.40 ms`, or with a projection `~0.40 ms here; ~2.4 ms at 1 ms RTT`
 * (the same words in the terminal and the HTML report).
 */
export function formatSavings(measuredMs: number, projectedMs?: number, rttMs?: number): string {
  const here = `~${formatMs(measuredMs)}`;
  if (projectedMs === undefined || rttMs === undefined) return here;
  return `${here} here; ~${formatMs(projectedMs)} at ${formatRtt(rttMs)}`;
}

/**
 * The sentences both views of the report (terminal and HTML) print about how its findings were
 * chosen and measured: which serial threshold applied and what it left out, and what `--rtt`
 * projects. One wording, defined once.
 */
import type { Report } from '../analysis/report';
import { formatRtt } from '../render/format';

type Basis = Pick<Report, 'thresholds' | 'hiddenFindings' | 'rttMs'>;

/**
 * Which findings are listed: every duplicate and n+1, and serial calls above the threshold, with
 * how many were left out and the flag that shows them. Undefined when no threshold applied.
 */
export function serialThresholdNote(report: Basis): string | undefined {
  const min = report.thresholds.minSavingsMs;
  if (min <= 0) return undefined;
  const at = report.rttMs !== undefined ? ` at ${formatRtt(report.rttMs)}` : '';
  const n = report.hiddenFindings;
  return (
    `every duplicate and n+1 is shown; serial calls saving under ${min} ms${at} are not ` +
    `(${n} left out); --min-savings 0 shows them`
  );
}

/** What the projected figures mean. Undefined without `--rtt`. */
export function rttNote(report: Pick<Report, 'rttMs'>): string | undefined {
  if (report.rttMs === undefined) return undefined;
  return (
    `savings at ${formatRtt(report.rttMs)}: as measured here, plus ${report.rttMs} ms for each round ` +
    'trip the fix removes (development runs on loopback; production does not)'
  );
}

/** A function's serial findings left out, or undefined when none were. */
export function hiddenInFunction(hidden: number, report: Basis): string | undefined {
  if (hidden === 0) return undefined;
  const at = report.rttMs !== undefined ? ` at ${formatRtt(report.rttMs)}` : '';
  return `${hidden} serial finding${hidden === 1 ? '' : 's'} saving under ${report.thresholds.minSavingsMs} ms${at} not shown`;
}

/**
 * `sockscope report [FILE...] [--jaeger URL --service NAME ...] [--zipkin URL --service NAME]
 * [--json] [--html FILE] [--rtt MS] [threshold flags]`: where each traced function (or entry span)
 * spends its network time, and the waste findings. See docs/report.md.
 */
import { writeFileSync } from 'node:fs';
import { DEFAULT_THRESHOLDS, resolveThresholds, type ReportThresholds } from '../analysis/findings';
import type { TraceSpan } from '../analysis/model';
import { TraceInputError } from '../analysis/read';
import { reportFromSpans } from '../analysis/report';
import { HTML_DEFAULTS, renderHtml } from '../report/html';
import { renderText } from '../report/text';
import {
  RTT_OPTION,
  RTT_USAGE,
  UsageError,
  parseCommandArgs,
  parsePositiveInt,
  rttFromArgs,
  stringOption,
} from './args';
import { INPUT_OPTIONS, INPUT_USAGE, describeInputs, loadTraceBatches, traceInputsFromArgs } from './inputs';
import { toJson } from '../render/json';
import { inert, shouldColor } from '../render/terminal';

export const REPORT_USAGE = `usage: sockscope report ${INPUT_USAGE}
         [--json] [--html FILE] [--rtt MS] [--min-savings MS] [--serial-gap MS] [--n-plus-one N]
         [--html-traces N]

Per traced function or entry span: calls, exchanges, network time by server and protocol, the
share of wall time spent on the network, then findings (duplicate, serial, n+1), largest savings
first. Every duplicate and n+1 is listed, however little it saves; serial findings saving under
--min-savings are left out, and the report says how many. Inputs as for sockscope gaps (trace
files, --jaeger, --zipkin).

  --json                print {"functions":[{"name","calls","exchanges","networkTimeMs","wallTimeMs","byServer","findings"}],
                        "thresholds","hiddenFindings"}; each finding has "type", "exchanges", "estimatedSavingsMs",
                        "roundTripsSaved" (and "projectedSavingsMs" with --rtt)
  --html FILE           also write a self-contained HTML page with a waterfall per trace
  --html-traces N       waterfalls drawn in the page (default ${HTML_DEFAULTS.maxTraces})
${RTT_USAGE}
                        findings: measured savings + round trips the fix removes x MS, ranked by that
  --min-savings MS      list serial findings saving at least MS ms, at the --rtt when given
                        (default ${DEFAULT_THRESHOLDS.minSavingsMs}); duplicates and n+1 are always listed
  --serial-gap MS       serial: longest idle gap between calls made one after another (default ${DEFAULT_THRESHOLDS.serialMaxGapMs})
  --n-plus-one N        n+1: repetitions needed, at least 2 (default ${DEFAULT_THRESHOLDS.nPlusOneMin})
`;

export interface ReportIO {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown };
  env: NodeJS.ProcessEnv;
}

function milliseconds(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < 0) {
    throw new UsageError(`report: ${option}: '${text}' is not a number of milliseconds`);
  }
  return v;
}

/** Threshold flags to threshold overrides. @throws UsageError */
export function thresholdsFromArgs(values: Record<string, unknown>): Partial<ReportThresholds> {
  const v = values as Parameters<typeof stringOption>[0];
  const out: Partial<ReportThresholds> = {};
  const minSavings = milliseconds('--min-savings', stringOption(v, 'min-savings'));
  const gap = milliseconds('--serial-gap', stringOption(v, 'serial-gap'));
  const n = stringOption(v, 'n-plus-one');
  if (minSavings !== undefined) out.minSavingsMs = minSavings;
  if (gap !== undefined) out.serialMaxGapMs = gap;
  if (n !== undefined) {
    const count = parsePositiveInt('--n-plus-one', n);
    if (count < 2) throw new UsageError(`report: --n-plus-one: '${n}' is less than 2`);
    out.nPlusOneMin = count;
  }
  resolveThresholds(out); // same checks the API applies
  return out;
}

async function run(argv: string[], io: ReportIO): Promise<number> {
  const args = parseCommandArgs('report', argv, {
    ...INPUT_OPTIONS,
    json: { type: 'boolean' },
    html: { type: 'string' },
    'html-traces': { type: 'string' },
    'min-savings': { type: 'string' },
    'serial-gap': { type: 'string' },
    'n-plus-one': { type: 'string' },
    ...RTT_OPTION,
    help: { type: 'boolean', short: 'h' },
  });
  if (args.values.help === true) {
    io.stdout.write(REPORT_USAGE);
    return 0;
  }
  const thresholds = thresholdsFromArgs(args.values);
  const rttMs = rttFromArgs('report', args.values);
  const html = stringOption(args.values, 'html');
  if (html === '') throw new UsageError('report: --html needs a file name');
  const htmlTracesText = stringOption(args.values, 'html-traces');
  const maxTraces =
    htmlTracesText === undefined ? undefined : parsePositiveInt('--html-traces', htmlTracesText);
  const inputs = traceInputsFromArgs('report', args);

  // A trace's spans can be anywhere in the input, so the report holds them all (see docs/report.md).
  const spans: TraceSpan[] = [];
  const onWarning = (w: string): void => void io.stderr.write(`sockscope: warning: ${inert(w)}\n`);
  for await (const batch of loadTraceBatches(inputs, { onWarning })) {
    for (const s of batch) spans.push(s);
  }
  const { report, analysis } = reportFromSpans(spans, { ...thresholds, rttMs });
  for (const w of analysis.warnings) onWarning(w);
  if (html !== undefined) {
    const page = renderHtml(report, analysis, { sources: [describeInputs(inputs)], maxTraces });
    try {
      writeFileSync(html, page);
    } catch (err) {
      throw new UsageError(`report: cannot write ${html}: ${(err as Error).message}`);
    }
  }
  if (args.values.json === true) io.stdout.write(`${toJson(report, 2)}\n`);
  else io.stdout.write(renderText(report, analysis, { color: shouldColor(io.stdout, io.env) }));
  if (html !== undefined) io.stderr.write(`sockscope: wrote ${inert(html)}\n`);
  return 0;
}

/**
 * Run `sockscope report`; resolves to the exit code: 0 done, 2 bad usage or unreadable input
 * (printed here as one stderr line, so callers such as `sockscope demo` need no error handling).
 */
export async function runReport(argv: string[], io: Partial<ReportIO> = {}): Promise<number> {
  const full: ReportIO = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    env: io.env ?? process.env,
  };
  try {
    return await run(argv, full);
  } catch (err) {
    if (err instanceof UsageError || err instanceof TraceInputError || err instanceof RangeError) {
      full.stderr.write(`sockscope: ${inert(err.message.split('\n')[0])}\n`);
      return 2;
    }
    throw err;
  }
}

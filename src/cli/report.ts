/**
 * `sockscope report [FILE...] [--html FILE] [--json] [threshold flags]`: where each traced
 * function (or entry span) spends its network time, and the waste findings.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TraceInputError, readTraceSpans } from '../analysis/read';
import type { TraceSpan } from '../analysis/model';
import { DEFAULT_THRESHOLDS, resolveThresholds, type ReportThresholds } from '../analysis/findings';
import { reportFromSpans } from '../analysis/report';
import { renderHtml } from '../report/html';
import { renderText } from '../report/text';

export const REPORT_USAGE = `usage: sockscope report [FILE...] [--json] [--html FILE]
         [--min-savings MS] [--serial-gap MS] [--n-plus-one N] [--html-traces N]

Per traced function or entry span: calls, exchanges, network time by server and protocol, the
share of wall time on the network, and findings (duplicate, serial, n+1), largest savings first.

  --json             print the report as JSON
  --html FILE        also write a self-contained HTML page with waterfalls
  --min-savings MS   report findings saving at least MS ms (default ${DEFAULT_THRESHOLDS.minSavingsMs})
  --serial-gap MS    serial: longest idle gap between calls made one after another (default ${DEFAULT_THRESHOLDS.serialMaxGapMs})
  --n-plus-one N     n+1: repetitions needed (default ${DEFAULT_THRESHOLDS.nPlusOneMin})
  --html-traces N    waterfalls drawn in the HTML page (default 20)
`;

class UsageError extends Error {}

function number(flag: string, raw: string | undefined, integer = false): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) {
    throw new UsageError(`${flag} expects a non-negative ${integer ? 'integer' : 'number'}, got '${raw}'`);
  }
  return v;
}

interface ReportArgs {
  files: string[];
  json: boolean;
  html: string | undefined;
  htmlTraces: number | undefined;
  thresholds: Partial<ReportThresholds>;
}

function parse(argv: string[]): ReportArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean' },
        html: { type: 'string' },
        'min-savings': { type: 'string' },
        'serial-gap': { type: 'string' },
        'n-plus-one': { type: 'string' },
        'html-traces': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    // parseArgs messages are multi-line with hints; keep the first line.
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (v.html === '') throw new UsageError('--html expects a file name');
  const thresholds: Partial<ReportThresholds> = {};
  const minSavings = number('--min-savings', v['min-savings']);
  const gap = number('--serial-gap', v['serial-gap']);
  const n = number('--n-plus-one', v['n-plus-one'], true);
  if (minSavings !== undefined) thresholds.minSavingsMs = minSavings;
  if (gap !== undefined) thresholds.serialMaxGapMs = gap;
  if (n !== undefined) {
    if (n < 2) throw new UsageError(`--n-plus-one expects an integer of at least 2, got '${n}'`);
    thresholds.nPlusOneMin = n;
  }
  const htmlTraces = number('--html-traces', v['html-traces'], true);
  if (parsed.positionals.length === 0) throw new UsageError('no trace files given');
  return { files: parsed.positionals, json: v.json === true, html: v.html, htmlTraces, thresholds };
}

/** Run `sockscope report`; resolves to the exit code (0 done, 2 bad usage or unreadable input). */
export async function runReport(argv: string[]): Promise<number> {
  let args: ReportArgs | 'help';
  try {
    args = parse(argv);
    if (args !== 'help') resolveThresholds(args.thresholds);
  } catch (err) {
    process.stderr.write(`sockscope report: ${(err as Error).message} (see sockscope report --help)\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(REPORT_USAGE);
    return 0;
  }
  const spans: TraceSpan[] = [];
  try {
    const onWarning = (message: string): void => void process.stderr.write(`sockscope report: ${message}\n`);
    for await (const span of readTraceSpans(args.files, { onWarning })) spans.push(span);
  } catch (err) {
    const msg = err instanceof TraceInputError ? err.message : `cannot read input: ${(err as Error).message}`;
    process.stderr.write(`sockscope report: ${msg.split('\n')[0]}\n`);
    return 2;
  }
  const { report, analysis } = reportFromSpans(spans, args.thresholds);
  if (args.html !== undefined) {
    try {
      writeFileSync(
        args.html,
        renderHtml(report, analysis, { sources: args.files, maxTraces: args.htmlTraces }),
      );
    } catch (err) {
      process.stderr.write(`sockscope report: cannot write ${args.html}: ${(err as Error).message}\n`);
      return 2;
    }
  }
  if (args.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(renderText(report, analysis));
  if (args.html !== undefined) process.stderr.write(`sockscope report: wrote ${args.html}\n`);
  return 0;
}

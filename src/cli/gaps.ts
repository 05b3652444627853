/**
 * `sockscope gaps [FILE...] [--jaeger URL --service NAME ...] [--zipkin URL --service NAME] [--json] [--fail-on-uncovered]`:
 * which network calls no upstream instrumentation covers, biggest blind spot first.
 */
import { GapAccumulator, type GapsResult } from '../analysis/gaps';
import { parseCommandArgs } from './args';
import { INPUT_OPTIONS, INPUT_USAGE, describeInputs, loadTraceBatches, traceInputsFromArgs } from './inputs';
import { renderGapsTable } from '../render/gaps-table';
import { toJson } from '../render/json';
import { formatMs, inert, paint, shouldColor } from '../render/terminal';

export const GAPS_USAGE = `usage: sockscope gaps ${INPUT_USAGE} [--json] [--fail-on-uncovered]

One row per caller package x protocol x server: exchanges, how many an upstream instrumentation
covers, the time spent in uncovered ones, and what to do about it. Biggest blind spot first.

  FILE                  JSONL of OTLP requests (JsonlFileSpanExporter, Collector file exporter),
                        an OTLP/JSON document, Jaeger JSON, or a Zipkin v2 JSON span array
  --jaeger URL          read from Jaeger's query API (e.g. http://localhost:16686)
  --zipkin URL          read from Zipkin's API (e.g. http://localhost:9411)
  --service NAME        the service to fetch traces of (with --jaeger / --zipkin)
  --lookback DURATION   how far back to fetch, e.g. 30m, 2h, 1d (default 1h)
  --limit N             how many traces to fetch (default 100)
  --prometheus URL      the same table from the always-on metrics in Prometheus, summed over
                        every instance (with --service NAME, --selector 'label="value"',
                        --range DURATION (default 1h), --timeout DURATION; docs/metrics.md)
  --json                print {"rows":[...],"totals":{...}}
  --fail-on-uncovered   exit 1 when any exchange is uncovered (for CI)
`;

/** How to get sockscope spans, printed when the input has none. */
export const REGISTER_HINT = `Register SocketInstrumentation in the traced process, either with zero code:
  node --require sockscope/register app.js        (or: node --import sockscope/register app.mjs)
or next to your other instrumentations:
  import { SocketInstrumentation } from 'sockscope';
  registerInstrumentations({ instrumentations: [new SocketInstrumentation()] });
and export its spans (SOCKSCOPE_FILE=traces.jsonl writes a file sockscope gaps can read).`;

export interface GapsIO {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown };
  env: NodeJS.ProcessEnv;
}

export function headline(result: GapsResult, color: boolean): string {
  const t = result.totals;
  const pct = Math.round((t.uncovered / t.exchanges) * 100);
  const servers = new Set(result.rows.map((r) => r.server)).size;
  const lines = [
    `${t.exchanges} exchange${t.exchanges === 1 ? '' : 's'} with ${servers} server${servers === 1 ? '' : 's'}: ` +
      `${t.covered} covered by upstream instrumentation, ${t.uncovered} uncovered (${pct}%).`,
  ];
  const top = result.rows[0];
  if (t.uncovered === 0) {
    lines.push(
      paint('No blind spots: every exchange is described by an upstream instrumentation.', 'green', color),
    );
  } else {
    lines.push(
      paint('Biggest blind spot: ', 'bold', color) +
        inert(
          `${top.callerPackage} -> ${top.protocol} ${top.server}: ${top.uncovered} uncovered exchange${top.uncovered === 1 ? '' : 's'}, ` +
            `${formatMs(top.uncoveredTimeMs)}. ${top.suggestion}`,
        ),
    );
  }
  return lines.join('\n') + '\n\n';
}

/**
 * Run `sockscope gaps`. Resolves to the exit code: 0 done, 1 `--fail-on-uncovered` and some
 * exchange is uncovered. Bad usage and unreadable input throw `UsageError` / `TraceInputError`,
 * which `main` prints as one line and exits 2.
 */
export async function runGaps(argv: string[], io: Partial<GapsIO> = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  if (argv.some((a) => a === '--prometheus' || a.startsWith('--prometheus=')) && !argv.includes('--help'))
    return (await import('./gaps-prometheus')).runPrometheusGaps(argv, io);
  const args = parseCommandArgs('gaps', argv, {
    ...INPUT_OPTIONS,
    json: { type: 'boolean' },
    'fail-on-uncovered': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (args.values.help === true) {
    stdout.write(GAPS_USAGE);
    return 0;
  }
  const inputs = traceInputsFromArgs('gaps', args);
  const json = args.values.json === true;
  const warn = (w: string): void => void stderr.write(`sockscope gaps: warning: ${inert(w)}\n`);

  const acc = new GapAccumulator();
  for await (const batch of loadTraceBatches(inputs, { onWarning: warn })) {
    for (const s of batch) acc.add(s);
    acc.endBatch();
  }
  const result = acc.result();
  const { spans, sockscopeSpans } = acc.stats;

  let note: string | undefined;
  if (sockscopeSpans === 0) {
    note = `No sockscope spans found in ${inert(describeInputs(inputs))} (${spans} span${spans === 1 ? '' : 's'} read).\n${REGISTER_HINT}\n`;
  } else if (result.totals.exchanges === 0) {
    note =
      `${sockscopeSpans} sockscope span${sockscopeSpans === 1 ? '' : 's'} found but no exchange spans: ` +
      `exchanges were turned off (exchanges: 'none' / SOCKSCOPE_EXCHANGES=none), so there is nothing to compare.\n`;
  }

  if (json) {
    stdout.write(`${toJson(result)}\n`);
    if (note !== undefined) stderr.write(note);
  } else if (note !== undefined) {
    stdout.write(note);
  } else {
    const color = shouldColor(stdout, env);
    stdout.write(headline(result, color) + renderGapsTable(result, { color }));
  }
  return args.values['fail-on-uncovered'] === true && result.totals.uncovered > 0 ? 1 : 0;
}

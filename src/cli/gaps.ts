/**
 * `sockscope gaps [FILE...] [--jaeger URL --service NAME ...] [--zipkin URL --service NAME] [--json] [--fail-on-uncovered [--strict]] [--rtt MS]`:
 * which operations no upstream instrumentation covers, biggest blind spot first.
 */
import { GapAccumulator, type GapsResult } from '../analysis/gaps';
import { plural } from '../analysis/suggestions';
import { parseCommandArgs, RTT_OPTION, RTT_USAGE, rttFromArgs, UsageError, type ParsedArgs } from './args';
import { INPUT_OPTIONS, INPUT_USAGE, describeInputs, loadTraceBatches, traceInputsFromArgs } from './inputs';
import { projected, renderGapsTable } from '../render/gaps-table';
import { toJson } from '../render/json';
import { formatMs, inert, paint, shouldColor } from '../render/terminal';

export const GAPS_USAGE = `usage: sockscope gaps ${INPUT_USAGE} [--json] [--fail-on-uncovered [--strict]] [--rtt MS]

One row per caller package x protocol x server: how many of its operations and how much of its
connection chatter (setup, teardown, heartbeat) an upstream instrumentation covers, the time spent
in uncovered operations, and what to do about it. Biggest blind spot first.

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
  --fail-on-uncovered   exit 1 when any operation is uncovered (for CI); chatter with no span
                        (pg's Terminate, Redis QUIT, AMQP channel.open) is normal and passes
  --strict              with --fail-on-uncovered: also exit 1 on uncovered setup, teardown and
                        heartbeat exchanges
${RTT_USAGE}
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

/** `4.1 ms`, or with `--rtt`: `4.1 ms here; ~44 ms at 1 ms RTT`. */
function timeAt(ms: number, projectedMs: number | undefined, rttMs: number | undefined): string {
  if (rttMs === undefined || projectedMs === undefined) return formatMs(ms);
  return `${formatMs(ms)} here; ${projected(projectedMs)} at ${rttMs} ms RTT`;
}

/** The lines above the table: totals, then the biggest blind spot (an uncovered operation). */
export function headline(result: GapsResult, color: boolean): string {
  const t = result.totals;
  const pct = (n: number, of: number): number => (of === 0 ? 0 : Math.round((n / of) * 100));
  const servers = new Set(result.rows.map((r) => r.server)).size;
  const chatter = t.exchanges - t.operations;
  const chatterUncovered = t.uncovered - t.operationsUncovered;
  const lines = [
    `${plural(t.exchanges, 'exchange')} with ${plural(servers, 'server')}: ` +
      `${t.covered} covered by upstream instrumentation, ${t.uncovered} uncovered (${pct(t.uncovered, t.exchanges)}%).`,
    `${plural(t.operations, 'operation')}: ${t.operationsCovered} covered, ${t.operationsUncovered} uncovered (${pct(t.operationsUncovered, t.operations)}%)` +
      (chatter > 0
        ? `; ${plural(chatter, 'setup/teardown/heartbeat exchange')}: ${chatter - chatterUncovered} covered, ${chatterUncovered} with no span.`
        : '.'),
  ];
  const top = result.rows[0];
  if (t.operationsUncovered === 0) {
    lines.push(
      paint(
        'No blind spots: every operation is described by an upstream instrumentation' +
          (chatterUncovered > 0
            ? ` (${plural(chatterUncovered, 'setup/teardown exchange')} with no span: normal).`
            : '.'),
        'green',
        color,
      ),
    );
  } else {
    lines.push(
      paint('Biggest blind spot: ', 'bold', color) +
        inert(
          `${top.callerPackage} -> ${top.protocol} ${top.server}: ${top.operationsUncovered} of ${plural(top.operations, 'operation')} uncovered, ` +
            `${timeAt(top.uncoveredOperationTimeMs, top.projectedUncoveredOperationTimeMs, result.rttMs)}. ${top.suggestion}`,
        ),
    );
  }
  return lines.join('\n') + '\n\n';
}

/** `--fail-on-uncovered` and `--strict`, checked together. */
export interface GapGate {
  failOnUncovered: boolean;
  strict: boolean;
}

export const GATE_OPTIONS = {
  'fail-on-uncovered': { type: 'boolean' },
  strict: { type: 'boolean' },
} as const;

/**
 * The gate the arguments ask for.
 * @throws UsageError for `--strict` without `--fail-on-uncovered`: it changes what that gate
 *   counts and means nothing alone (an exit code that appears by itself would surprise a CI job)
 */
export function gateFromArgs(values: ParsedArgs['values']): GapGate {
  const failOnUncovered = values['fail-on-uncovered'] === true;
  const strict = values.strict === true;
  if (strict && !failOnUncovered)
    throw new UsageError(
      'gaps: --strict makes --fail-on-uncovered also fail on uncovered setup/teardown/heartbeat exchanges; give it with --fail-on-uncovered',
    );
  return { failOnUncovered, strict };
}

/** 1 when the gate fails: an uncovered operation, or with `--strict` any uncovered exchange. */
export function gateExitCode(result: GapsResult, gate: GapGate): number {
  if (!gate.failOnUncovered) return 0;
  const t = result.totals;
  return t.operationsUncovered > 0 || (gate.strict && t.uncovered > 0) ? 1 : 0;
}

/**
 * Run `sockscope gaps`. Resolves to the exit code: 0 done, 1 `--fail-on-uncovered` and some
 * operation is uncovered (with `--strict`, any exchange). Bad usage and unreadable input throw `UsageError` / `TraceInputError`,
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
    ...GATE_OPTIONS,
    ...RTT_OPTION,
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (args.values.help === true) {
    stdout.write(GAPS_USAGE);
    return 0;
  }
  const gate = gateFromArgs(args.values);
  const rttMs = rttFromArgs('gaps', args.values);
  const inputs = traceInputsFromArgs('gaps', args);
  const json = args.values.json === true;
  const warn = (w: string): void => void stderr.write(`sockscope gaps: warning: ${inert(w)}\n`);

  // The app's own instrumentations, when sockscope gaps runs in its folder, say which versions they patch.
  const acc = new GapAccumulator({ rttMs, cwd: process.cwd() });
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
  return gateExitCode(result, gate);
}

/**
 * `sockscope gaps --prometheus URL [--service NAME] [--selector MATCHER]... [--range DURATION]`:
 * the gap table from the always-on metrics, summed over every instance Prometheus scrapes. Same
 * rows, phase counts, verdicts, suggestions, `--json` shape (plus `undecided`), exit codes,
 * `--fail-on-uncovered`, `--strict` and `--rtt` as the table from traces.
 */
import { fleetGapQueries, fleetGaps, type FleetGapsResult } from '../analysis/fleet-gaps';
import { parseCommandArgs, parseDuration, RTT_OPTION, rttFromArgs, stringOption, UsageError } from './args';
import { GATE_OPTIONS, gateExitCode, gateFromArgs, headline, type GapsIO } from './gaps';
import { DEFAULT_TIMEOUT_MS, PrometheusError, queryPrometheus, selectorOf } from './prometheus-source';
import { renderGapsTable } from '../render/gaps-table';
import { shouldColor } from '../render/terminal';

export const PROMETHEUS_OPTIONS = {
  prometheus: { type: 'string' },
  service: { type: 'string' },
  selector: { type: 'string', multiple: true },
  range: { type: 'string' },
  timeout: { type: 'string' },
} as const;

/** Prometheus's own duration syntax for the range, from the CLI's (`90m` -> `5400s`). */
function promDuration(ms: number): string {
  return `${Math.max(1, Math.round(ms / 1000))}s`;
}

export async function runPrometheusGaps(argv: string[], io: Partial<GapsIO> = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const env = io.env ?? process.env;
  const args = parseCommandArgs('gaps', argv, {
    ...PROMETHEUS_OPTIONS,
    ...GATE_OPTIONS,
    ...RTT_OPTION,
    json: { type: 'boolean' },
  });
  const gate = gateFromArgs(args.values);
  const rttMs = rttFromArgs('gaps', args.values);
  if (args.positionals.length > 0)
    throw new UsageError(`gaps: --prometheus reads no files (got ${args.positionals[0]})`);
  const url = stringOption(args.values, 'prometheus');
  if (url === undefined) throw new UsageError('gaps: --prometheus needs a URL, e.g. http://localhost:9090');
  const rangeText = stringOption(args.values, 'range') ?? '1h';
  const range = promDuration(parseDuration('--range', rangeText));
  const timeoutText = stringOption(args.values, 'timeout');
  const timeoutMs = timeoutText !== undefined ? parseDuration('--timeout', timeoutText) : DEFAULT_TIMEOUT_MS;
  const selectors = (args.values.selector as string[] | undefined) ?? [];
  const service = stringOption(args.values, 'service');
  const q = fleetGapQueries(selectorOf(service, selectors), range);
  const [exchanges, time] = await Promise.all([
    queryPrometheus(url, q.exchanges, timeoutMs),
    queryPrometheus(url, q.time, timeoutMs),
  ]);
  const result: FleetGapsResult = fleetGaps(exchanges, time, { rttMs });
  if (result.totals.exchanges === 0) {
    const scope = service !== undefined ? ` for service ${service}` : '';
    throw new PrometheusError(
      `Prometheus at ${url}: no sockscope metrics${scope} in the last ${rangeText} (is it scraping an app with OTEL_METRICS_EXPORTER=prometheus?)`,
    );
  }
  if (args.values.json === true) {
    stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    const color = shouldColor(stdout, env);
    const t = result.totals;
    const undecided =
      t.undecided > 0
        ? `${t.undecided} of ${t.exchanges} exchanges had no sampled trace, so their coverage is undecided; covered and gaps count the decided ones.\n\n`
        : '';
    stdout.write(headline(result, color) + undecided + renderGapsTable(result, { color }));
  }
  return gateExitCode(result, gate);
}

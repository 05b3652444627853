/**
 * `sockscope top [--metrics URL | --prometheus URL [--service NAME]]`: a live view of the network
 * work per server x protocol, refreshed every second, biggest time spent first. q (or Ctrl-C)
 * quits and the terminal is restored; on a non-TTY stdout it prints one snapshot (two readings a
 * second apart) and exits 0.
 */
import { reading, topRows, type Reading, type TopRow } from '../analysis/top-model';
import { parseCommandArgs, parseDuration, stringOption, UsageError } from './args';
import { DEFAULT_TIMEOUT_MS } from './prometheus-source';
import { formatMs, paint, renderTable, shouldColor, type Cell, type Column } from '../render/terminal';
import { endpointSource, prometheusSource, type TopSource } from './top-sources';

export const TOP_USAGE = `usage: sockscope top [--metrics URL | --prometheus URL [--service NAME]] [--interval DURATION]

A live view of the network work per server x protocol, refreshed every second, biggest time spent
first: exchanges/s, bytes/s in and out, p50/p99 exchange time, open connections, and the uncovered
share of the exchanges whose coverage was decided. q quits. When stdout is not a terminal, prints
one snapshot and exits.

  --metrics URL      one process's metrics endpoint (OTEL_METRICS_EXPORTER=prometheus), e.g.
                     http://localhost:9464/metrics
  --prometheus URL   a Prometheus server: the whole fleet, summed over instances
  --service NAME     with --prometheus: only this service
  --interval D       refresh period (default 1s)
`;

const NARROW = 100;

function rate(n: number, unit = ''): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M${unit}`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k${unit}`;
  if (n >= 100) return `${Math.round(n)}${unit}`;
  return `${n.toFixed(n === 0 ? 0 : 1)}${unit}`;
}

function bytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${Math.round(n)} B`;
}

function ms(v: number | undefined): string {
  return v === undefined ? '-' : formatMs(Math.round(v * 1000) / 1000);
}

/** One frame, laid out for `width` columns (narrow terminals drop the byte rates and p50). */
export function renderTop(
  rows: TopRow[],
  opts: { width: number; height: number; color: boolean; source: string; at: Date },
): string {
  const wide = opts.width >= NARROW;
  const columns: Column[] = [
    { header: 'SERVER' },
    { header: 'PROTOCOL' },
    { header: 'EXCH/S', align: 'right' },
    ...(wide
      ? [
          { header: 'IN/S', align: 'right' as const },
          { header: 'OUT/S', align: 'right' as const },
        ]
      : []),
    ...(wide ? [{ header: 'P50', align: 'right' as const }] : []),
    { header: 'P99', align: 'right' },
    { header: 'OPEN', align: 'right' },
    { header: 'UNCOVERED', align: 'right' },
  ];
  const serverWidth = Math.max(12, opts.width - (wide ? 80 : 52));
  const body: Cell[][] = rows.slice(0, Math.max(1, opts.height - 4)).map((r) => {
    const server = r.server.length > serverWidth ? `${r.server.slice(0, serverWidth - 1)}~` : r.server;
    const share = r.uncoveredShare;
    return [
      server,
      r.protocol,
      rate(r.exchangesPerS),
      ...(wide ? [bytes(r.bytesInPerS), bytes(r.bytesOutPerS)] : []),
      ...(wide ? [ms(r.p50Ms)] : []),
      ms(r.p99Ms),
      String(Math.round(r.open)),
      share === undefined
        ? { text: '-' }
        : { text: `${Math.round(share * 100)}%`, colour: share > 0 ? 'red' : 'green' },
    ];
  });
  const title = `${paint('sockscope top', 'bold', opts.color)}  ${opts.source}  ${opts.at.toISOString().slice(11, 19)}  ${rows.length} row${rows.length === 1 ? '' : 's'}${opts.width > 60 ? '  (q quits)' : ''}`;
  const table = rows.length === 0 ? 'no exchanges yet\n' : renderTable(columns, body, { color: opts.color });
  return `${title}\n\n${table}`;
}

export interface TopIO {
  stdout:
    NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean; columns?: number; rows?: number };
  stdin: NodeJS.ReadStream;
  env: NodeJS.ProcessEnv;
}

const sleep = (msec: number) => new Promise<void>((r) => setTimeout(r, msec));

export async function runTop(argv: string[], io: Partial<TopIO> = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stdin = io.stdin ?? process.stdin;
  const env = io.env ?? process.env;
  const args = parseCommandArgs('top', argv, {
    metrics: { type: 'string' },
    prometheus: { type: 'string' },
    service: { type: 'string' },
    interval: { type: 'string' },
    timeout: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (args.values.help === true) {
    stdout.write(TOP_USAGE);
    return 0;
  }
  const metricsUrl = stringOption(args.values, 'metrics');
  const promUrl = stringOption(args.values, 'prometheus');
  if ((metricsUrl === undefined) === (promUrl === undefined))
    throw new UsageError('top: give one of --metrics URL (one process) or --prometheus URL (a fleet)');
  const intervalText = stringOption(args.values, 'interval');
  const intervalMs = intervalText !== undefined ? parseDuration('--interval', intervalText) : 1000;
  const timeoutText = stringOption(args.values, 'timeout');
  const timeoutMs = timeoutText !== undefined ? parseDuration('--timeout', timeoutText) : DEFAULT_TIMEOUT_MS;
  const source: TopSource =
    metricsUrl !== undefined
      ? endpointSource(metricsUrl, timeoutMs)
      : prometheusSource(promUrl!, stringOption(args.values, 'service'), timeoutMs);
  const color = shouldColor(stdout, env);
  const read = async (): Promise<Reading> => reading(await source.read(), Date.now());

  if (stdout.isTTY !== true) {
    const first = await read();
    await sleep(intervalMs);
    const second = await read();
    stdout.write(
      renderTop(topRows(first, second), {
        width: 120,
        height: 1000,
        color,
        source: source.describe,
        at: new Date(),
      }),
    );
    return 0;
  }
  return live(source.describe, read, intervalMs, stdout as NodeJS.WriteStream, stdin, color);
}

/** The full-screen loop: alternate screen, hidden cursor, raw keys; everything undone on the way out. */
async function live(
  describe: string,
  read: () => Promise<Reading>,
  intervalMs: number,
  out: NodeJS.WriteStream,
  stdin: NodeJS.ReadStream,
  color: boolean,
): Promise<number> {
  let stop: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((r) => (stop = r));
  const raw = stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  const restore = (): void => {
    if (raw) stdin.setRawMode(false);
    out.write('\u001b[?25h\u001b[?1049l');
  };
  const onKey = (d: Buffer): void => {
    const k = String(d);
    if (k === 'q' || k === 'Q' || k === '\u0003' || k === '\u0004') stop(0);
  };
  const onSignal = (): void => stop(0);
  out.write('\u001b[?1049h\u001b[?25l');
  process.once('exit', restore);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  if (raw) stdin.setRawMode(true);
  stdin.on('data', onKey);
  stdin.resume();
  let prev: Reading | undefined;
  let error: string | undefined;
  let running = true;
  void stopped.then(() => (running = false));
  try {
    while (running) {
      try {
        const cur = await read();
        error = undefined;
        const frame = renderTop(topRows(prev, cur), {
          width: out.columns ?? 80,
          height: out.rows ?? 24,
          color,
          source: describe,
          at: new Date(),
        });
        prev = cur;
        out.write(`\u001b[H\u001b[2J${frame}`);
      } catch (e) {
        // A reading that fails (the app restarting) is shown and retried, not fatal.
        error = (e as Error).message.split('\n')[0];
        out.write(`\u001b[H\u001b[2J${paint('sockscope top', 'bold', color)}  ${describe}\n\n${error}\n`);
      }
      await Promise.race([sleep(intervalMs), stopped]);
    }
    return await stopped;
  } finally {
    stdin.removeListener('data', onKey);
    stdin.pause();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('exit', restore);
    restore();
  }
}

/**
 * Argument parsing shared by the `sockscope` commands: Node's own `util.parseArgs` (strict), with
 * its errors turned into one-line `UsageError`s (exit code 2).
 */
import { parseArgs } from 'node:util';

/** Bad usage: the CLI prints the message as one line on stderr and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}
export type OptionSpecs = Record<string, OptionSpec>;

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/**
 * Parse `argv` (the arguments after the command name) strictly against `options`.
 * @throws UsageError naming the command and the offending argument
 */
export function parseCommandArgs(command: string, argv: string[], options: OptionSpecs): ParsedArgs {
  // `--rtt -1`: parseArgs calls a value starting with '-' ambiguous without naming it; a negative
  // number is the option's value, so it reaches the option's own check, which names it.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = argv[i + 1];
    const spec = a.startsWith('--') && !a.includes('=') ? options[a.slice(2)] : undefined;
    if (spec?.type === 'string' && next !== undefined && /^-\.?\d/.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (err) {
    // parseArgs adds a second sentence of advice on some errors; the first says what is wrong.
    const msg = (err as Error).message.split('\n')[0].replace(/\. To specify a positional.*$/, '');
    throw new UsageError(`${command}: ${msg}`);
  }
}

/** A string option's value, or undefined; the last one wins when repeated. */
export function stringOption(values: ParsedArgs['values'], name: string): string | undefined {
  const v = values[name];
  if (Array.isArray(v)) return v.length === 0 ? undefined : String(v[v.length - 1]);
  return typeof v === 'string' ? v : undefined;
}

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * A duration such as `500ms`, `30s`, `15m`, `2h`, `1d`, `1w` (as Jaeger's UI writes lookbacks), in ms.
 * @throws UsageError when it is not one
 */
export function parseDuration(option: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!m || Number(m[1]) <= 0)
    throw new UsageError(`${option}: '${text}' is not a duration (e.g. 30m, 2h, 1d)`);
  return Number(m[1]) * UNITS[m[2]];
}

/** A positive integer option. @throws UsageError */
export function parsePositiveInt(option: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1)
    throw new UsageError(`${option}: '${text}' is not a positive integer`);
  return Number(text);
}

/** The `--rtt MS` option that `gaps` and `report` share. */
export const RTT_OPTION: OptionSpecs = { rtt: { type: 'string' } };
export const RTT_USAGE = `  --rtt MS              also show each figure projected at a production round trip of MS ms
                        (development runs on loopback; production does not)`;

/**
 * `--rtt MS`: a production round-trip time in milliseconds, or undefined when not given.
 * @throws UsageError naming the command and the value when it is not a positive number
 */
export function rttFromArgs(command: string, values: ParsedArgs['values']): number | undefined {
  const text = stringOption(values, 'rtt');
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v <= 0 || v > 60_000)
    throw new UsageError(
      `${command}: --rtt: '${text}' is not a round-trip time in milliseconds (e.g. 1, 0.5, 20)`,
    );
  return v;
}

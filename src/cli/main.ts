#!/usr/bin/env node
/**
 * The `sockscope` command: dispatches to `gaps`, `report` and `demo`. Exit codes (contract): 0
 * done, 1 a gate failed (`--fail-on-uncovered`), 2 bad usage or unreadable input, with one line
 * on stderr saying what is wrong.
 */
import { UsageError } from './args';
import { TraceInputError } from '../analysis/read';

type Runner = (argv: string[]) => Promise<number>;

export const USAGE = `usage: sockscope <command> [options]

Commands:
  gaps     which network calls no upstream instrumentation covers (sockscope gaps --help)
  report   network time and waste findings per traced function (sockscope report --help)
  budget   check a trace file against recorded network budgets (sockscope budget --help)
  demo     run a sample service under sockscope and show both

Options:
  --help, -h     show this help
  --version, -v  print the version

Exit codes: 0 done, 1 a gate failed (--fail-on-uncovered), 2 bad usage or unreadable input.
`;

function version(): string {
  // Two levels up from both src/cli and dist/cli.
  return (require('../../package.json') as { version: string }).version;
}

/**
 * Load a command module only when it runs, so a missing or broken sibling command never stops
 * the others (report and demo are written separately).
 */
export function loadCommand(module: string, exportName: string): Runner | undefined {
  let mod: Record<string, unknown>;
  try {
    mod = require(module) as Record<string, unknown>;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND' && e.message.includes(module)) return undefined;
    throw err;
  }
  const fn = mod[exportName];
  return typeof fn === 'function' ? (fn as Runner) : undefined;
}

async function dispatch(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      throw new UsageError('missing command: gaps, report or demo (see sockscope --help)');
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case '--version':
    case '-v':
      process.stdout.write(`${version()}\n`);
      return 0;
    case 'gaps':
      return (await import('./gaps')).runGaps(rest);
    case 'budget':
      return (await import('./budget')).runBudget(rest);
    case 'report':
    case 'demo': {
      const run =
        command === 'report' ? loadCommand('./report', 'runReport') : loadCommand('./demo', 'runDemo');
      if (run === undefined) {
        process.stderr.write(`sockscope: ${command} is not available yet\n`);
        return 2;
      }
      return run(rest);
    }
    default:
      throw new UsageError(`unknown command '${command}': use gaps, report or demo (see sockscope --help)`);
  }
}

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (err) {
    if (err instanceof UsageError || err instanceof TraceInputError) {
      process.stderr.write(`sockscope: ${err.message.split('\n')[0]}\n`);
      return 2;
    }
    const e = err as Error;
    process.stderr.write(`sockscope: ${(e?.message ?? String(err)).split('\n')[0]}\n`);
    if (process.env.SOCKSCOPE_DEBUG) process.stderr.write(`${e?.stack}\n`);
    return 2;
  }
}

if (require.main === module) {
  // `sockscope gaps ... | head` closes stdout early: that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

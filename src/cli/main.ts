#!/usr/bin/env node
/**
 * The `sockscope` command: dispatches to `gaps`, `report` and `demo`. Exit codes (contract): 0
 * done, 1 a gate failed (`--fail-on-uncovered`), 2 bad usage or unreadable input, with one line
 * on stderr saying what is wrong.
 */
import { UsageError } from './args';
import { TraceInputError } from '../analysis/read';
import { inert } from '../render/inert';

export const USAGE = `usage: sockscope <command> [options]

Commands:
  gaps     which network calls no upstream instrumentation covers (sockscope gaps --help)
  report   network time and waste findings per traced function (sockscope report --help)
  top      live view of network work per server from the metrics (sockscope top --help)
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
    case 'top':
      return (await import('./top')).runTop(rest);
    case 'budget':
      return (await import('./budget')).runBudget(rest);
    case 'report':
      return (await import('./report')).runReport(rest);
    case 'demo':
      return (await import('./demo')).runDemo(rest);
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
      process.stderr.write(`sockscope: ${inert(err.message.split('\n')[0])}\n`);
      return 2;
    }
    const e = err as Error;
    process.stderr.write(`sockscope: ${inert((e?.message ?? String(err)).split('\n')[0])}\n`);
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

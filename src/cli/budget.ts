/**
 * `sockscope budget check FILE... --budget sockscope-budget.json`: checks the network calls of each
 * traced function (or root span) in a trace file against the budgets recorded under its name, the
 * way `expectNetwork` checks a test. Each call of a function must stay within its budget. Exit 1
 * on a violation, with the same table a test shows.
 */
import type { TraceSpan } from '../analysis/model';
import { readTraceBatches } from '../analysis/read';
import {
  BudgetFileError,
  DEFAULT_BUDGET_FILE,
  readBudgetFile,
  type RecordedBudget,
} from '../testing/budget-file';
import { analyzeUnits } from '../testing/findings';
import { countExchanges, toExchange } from '../testing/network';
import { compareWithRecorded, describeRecorded } from '../testing/recorded';
import type { NetworkCount } from '../testing/types';
import { renderViolations, type BudgetViolation } from '../testing/violations';
import { UsageError, parseCommandArgs, stringOption } from './args';

export const BUDGET_USAGE = `usage: sockscope budget check FILE... [--budget FILE]

Checks each traced function (or root span) in the trace files against the budget recorded under
its name in the budget file (default ${DEFAULT_BUDGET_FILE}, as expectNetwork writes it): every
call of the function may make at most the recorded number of operation exchanges per server and
operation, and no new server or operation. Functions without a budget are not checked.

Exit codes: 0 within budget, 1 a budget exceeded (with a table per function), 2 bad usage or input.
`;

export interface BudgetIO {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

interface Outcome {
  calls: number;
  /** The call with the most violations, when any call broke the budget. */
  worst: { violations: BudgetViolation[]; counts: NetworkCount[]; total: number } | undefined;
}

/** Each call of each budgeted function checked on its own; the call with the most violations kept. */
function checkFunctions(spans: TraceSpan[], budgets: Record<string, RecordedBudget>): Map<string, Outcome> {
  const out = new Map<string, Outcome>();
  for (const unit of analyzeUnits(spans)) {
    const recorded = budgets[unit.name];
    if (recorded === undefined) continue;
    const outcome = out.get(unit.name) ?? { calls: 0, worst: undefined };
    out.set(unit.name, outcome);
    outcome.calls++;
    const exchanges = unit.calls.flatMap((c) => c.exchangeSpans).map(toExchange);
    const counts = countExchanges(exchanges);
    const { violations } = compareWithRecorded(counts, recorded, exchanges);
    if (violations.length > (outcome.worst?.violations.length ?? 0)) {
      outcome.worst = { violations, counts, total: counts.reduce((a, c) => a + c.count, 0) };
    }
  }
  return out;
}

export async function runBudget(argv: string[], io: BudgetIO = process): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h') {
    io.stdout.write(BUDGET_USAGE);
    return 0;
  }
  if (sub !== 'check')
    throw new UsageError(`budget: unknown subcommand '${sub ?? ''}': use budget check FILE... --budget FILE`);
  const { values, positionals } = parseCommandArgs('budget check', rest, {
    budget: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) {
    io.stdout.write(BUDGET_USAGE);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('budget check: give at least one trace file');
  const budgetPath = stringOption(values, 'budget') ?? DEFAULT_BUDGET_FILE;
  let budgets: Record<string, RecordedBudget>;
  try {
    budgets = readBudgetFile(budgetPath).budgets;
  } catch (e) {
    if (e instanceof BudgetFileError) throw new UsageError(`budget check: ${e.message}`);
    throw e;
  }
  if (Object.keys(budgets).length === 0)
    throw new UsageError(`budget check: ${budgetPath}: no budgets recorded`);
  const spans: TraceSpan[] = [];
  for await (const batch of readTraceBatches(positionals)) spans.push(...batch);

  const names = Object.keys(budgets).sort();
  const seen = checkFunctions(spans, budgets);
  let failed = 0;
  for (const name of names) {
    const outcome = seen.get(name);
    const worst = outcome?.worst;
    if (outcome === undefined || worst === undefined) continue;
    failed++;
    const n = worst.violations.length;
    io.stdout.write(
      renderViolations(
        `Network budget ${JSON.stringify(name)} exceeded: ${n} violation${n === 1 ? '' : 's'} in its worst call`,
        worst.violations,
        describeRecorded(budgets[name]),
        {
          summary: `${worst.total} exchanges in that call (${outcome.calls} calls in the input)`,
          counts: worst.counts,
        },
      ) + '\n',
    );
  }
  const checked = names.filter((n) => seen.has(n));
  const missing = names.filter((n) => !seen.has(n));
  const tail = missing.length > 0 ? `; not in the input: ${missing.join(', ')}` : '';
  if (failed > 0) {
    io.stderr.write(
      `sockscope budget: ${failed} of ${checked.length} functions over budget (${budgetPath})${tail}\n`,
    );
    return 1;
  }
  io.stdout.write(
    `sockscope budget: ${checked.length} function${checked.length === 1 ? '' : 's'} within budget (${budgetPath})${tail}\n`,
  );
  return 0;
}

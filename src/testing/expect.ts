/** `expectNetwork`: recorded network budgets, like snapshot tests. */
import { AssertionError } from 'node:assert';
import * as path from 'node:path';
import { summarise } from './budget';
import { DEFAULT_BUDGET_FILE, readBudgetFile, recordBudget, toRecorded } from './budget-file';
import { captureNetwork } from './capture';
import { compareWithRecorded, describeRecorded } from './recorded';
import type { Network } from './types';
import { budgetError, displayPath, renderViolations } from './violations';

export interface ExpectNetworkOptions {
  /**
   * The budget file.
   * @default process.env.SOCKSCOPE_BUDGET_FILE, else `sockscope-budget.json` in the working folder
   */
  file?: string;
  /**
   * Record the counts instead of checking them.
   * @default true when SOCKSCOPE_UPDATE_BUDGETS=1, and for a name not yet in the file (outside CI)
   */
  update?: boolean;
}

function budgetFile(options: ExpectNetworkOptions): string {
  return path.resolve(options.file ?? process.env.SOCKSCOPE_BUDGET_FILE ?? DEFAULT_BUDGET_FILE);
}

/**
 * Runs `fn` under `captureNetwork` and checks its operation exchanges per server and operation
 * against the budget recorded under `name`. The first run (or any run with
 * SOCKSCOPE_UPDATE_BUDGETS=1) records them. Later runs throw an `AssertionError` with a table when
 * a count grows or a new server or operation appears; fewer calls than recorded pass, with a
 * warning suggesting an update. In CI (`CI=true`) a missing budget fails instead of being recorded.
 */
export async function expectNetwork<T>(
  name: string,
  fn: () => T | Promise<T>,
  options: ExpectNetworkOptions = {},
): Promise<{ result: T; network: Network }> {
  if (typeof name !== 'string' || name === '')
    throw new TypeError(`expectNetwork needs a budget name, got ${JSON.stringify(name)}`);
  const file = budgetFile(options);
  const { result, network } = await captureNetwork(fn, { name });
  const recorded = readBudgetFile(file).budgets[name];
  const update = options.update ?? process.env.SOCKSCOPE_UPDATE_BUDGETS === '1';
  if (update || recorded === undefined) {
    if (recorded === undefined && !update && process.env.CI === 'true') {
      throw new AssertionError({
        message: `No network budget recorded for ${JSON.stringify(name)} in ${file}: record it locally (run the test once, or with SOCKSCOPE_UPDATE_BUDGETS=1) and commit the file.`,
      });
    }
    recordBudget(file, name, toRecorded(network.counts));
    return { result, network };
  }
  const { violations, shrunk } = compareWithRecorded(network.counts, recorded, network.exchanges);
  if (violations.length > 0) {
    const message = renderViolations(
      `Network budget ${JSON.stringify(name)} exceeded (${displayPath(file)}): ` +
        `${violations.length} violation${violations.length === 1 ? '' : 's'}. ` +
        'If the change is intended, rerun with SOCKSCOPE_UPDATE_BUDGETS=1 and commit the file.',
      violations,
      describeRecorded(recorded),
      { summary: summarise(network), counts: network.counts },
    );
    throw budgetError(message, toRecorded(network.counts), recorded, 'expectNetwork');
  }
  if (shrunk.length > 0) {
    const lines = shrunk.map((s) => `  ${s.server} ${s.operation}: ${s.recorded} recorded, ${s.now} now`);
    console.warn(
      `sockscope: network budget ${JSON.stringify(name)} has fewer calls than recorded:\n${lines.join('\n')}\n` +
        `  Lock the improvement in: rerun with SOCKSCOPE_UPDATE_BUDGETS=1 and commit ${path.basename(file)}.`,
    );
  }
  return { result, network };
}

/**
 * `sockscope-budget.json`: recorded counts per budget name, server and operation. Sorted at every
 * level, two-space indented, one count per line and a final newline, so a change reads as a
 * one-line diff in review. Timings are never recorded: counts are stable, times are not.
 *
 *   {
 *     "version": 1,
 *     "budgets": {
 *       "author page": {
 *         "127.0.0.1:5432": { "postgresql SELECT": 2 },
 *         "127.0.0.1:6379": { "redis GET": 1 }
 *       }
 *     }
 *   }
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NetworkCount } from './types';

export const BUDGET_FILE_VERSION = 1;
export const DEFAULT_BUDGET_FILE = 'sockscope-budget.json';

/** Server -> operation -> operation exchanges per run. */
export type RecordedBudget = Record<string, Record<string, number>>;

export interface BudgetFile {
  version: number;
  budgets: Record<string, RecordedBudget>;
}

/** A budget file that cannot be used, naming the file and what is wrong with it. */
export class BudgetFileError extends Error {
  override name = 'BudgetFileError';
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** Reads and checks a budget file; a missing file is an empty one. */
export function readBudgetFile(file: string): BudgetFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: BUDGET_FILE_VERSION, budgets: {} };
    throw new BudgetFileError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseBudgetFile(text, file);
}

export function parseBudgetFile(text: string, file: string): BudgetFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new BudgetFileError(`${file}: not valid JSON`);
  }
  if (!isObject(doc) || !isObject(doc.budgets))
    throw new BudgetFileError(`${file}: expected {"version":1,"budgets":{...}}`);
  if (doc.version !== BUDGET_FILE_VERSION) {
    throw new BudgetFileError(
      `${file}: version ${JSON.stringify(doc.version)} is not supported (expected ${BUDGET_FILE_VERSION})`,
    );
  }
  for (const [name, servers] of Object.entries(doc.budgets)) {
    if (!isObject(servers))
      throw new BudgetFileError(`${file}: budget ${JSON.stringify(name)} must be an object of servers`);
    for (const [server, ops] of Object.entries(servers)) {
      if (!isObject(ops))
        throw new BudgetFileError(
          `${file}: budget ${JSON.stringify(name)} server ${JSON.stringify(server)} must be an object of operations`,
        );
      for (const [op, n] of Object.entries(ops)) {
        if (!Number.isInteger(n) || (n as number) < 0) {
          throw new BudgetFileError(
            `${file}: budget ${JSON.stringify(name)} ${server} ${JSON.stringify(op)} must be a non-negative integer, got ${JSON.stringify(n)}`,
          );
        }
      }
    }
  }
  return doc as unknown as BudgetFile;
}

/** Counts as a recorded budget. */
export function toRecorded(counts: readonly NetworkCount[]): RecordedBudget {
  const out: RecordedBudget = {};
  for (const c of counts) (out[c.server] ??= {})[c.operation] = c.count;
  return out;
}

function sortDeep(v: unknown): unknown {
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) out[k] = sortDeep(v[k]);
  return out;
}

export function formatBudgetFile(doc: BudgetFile): string {
  return `${JSON.stringify({ version: doc.version, budgets: sortDeep(doc.budgets) }, null, 2)}\n`;
}

const sleep = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Records one budget: read, change and write under a lock file, so test workers running in
 * parallel (Jest, Vitest, Mocha --parallel) never lose each other's entries; written to a
 * temporary file and renamed, so a reader never sees half a file.
 */
export function recordBudget(file: string, name: string, budget: RecordedBudget): void {
  const lock = `${file}.lock`;
  let fd: number | undefined;
  for (let i = 0; fd === undefined; i++) {
    try {
      fd = fs.openSync(lock, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // A lock left by a crashed worker is taken over after 5 s.
      if (i >= 500) fs.rmSync(lock, { force: true });
      sleep(10);
    }
  }
  try {
    const doc = readBudgetFile(file);
    doc.budgets[name] = budget;
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
    fs.writeFileSync(tmp, formatBudgetFile(doc));
    fs.renameSync(tmp, file);
  } finally {
    fs.closeSync(fd);
    fs.rmSync(lock, { force: true });
  }
}

/** Budget violations and the one table every budget failure is shown as (tests and the CLI). */
import { AssertionError } from 'node:assert';
import * as path from 'node:path';
import { renderTable } from '../render/terminal';
import type { CodeLocation } from './frames';
import type { NetworkCount } from './types';

export interface BudgetViolation {
  /** The budget rule broken: `maxExchanges`, `perOperation`, `noNPlusOne`, `recorded`... */
  rule: string;
  operation: string;
  server: string;
  /** What the rule allowed, as shown (`2`, `none`). */
  allowed: string;
  /** What happened (`9`, `8 calls`). */
  happened: string;
  /** Where: the function and the code location, when known. */
  where: string;
}

/** A path relative to the working folder when inside it, else absolute. */
export function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel === '' || rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
}

/** `file:line` relative to the working folder (absolute when outside it), with the function. */
export function describeLocation(fn: string | undefined, loc: CodeLocation | undefined): string {
  const parts: string[] = [];
  if (fn !== undefined) parts.push(fn);
  if (loc !== undefined) {
    const at = `${displayPath(loc.file)}:${loc.line}`;
    parts.push(loc.function !== undefined && loc.function !== fn ? `at ${at} (${loc.function})` : `at ${at}`);
  }
  return parts.join(' ');
}

/** The failure message: a headline, the violations, what was allowed and what happened. */
export function renderViolations(
  headline: string,
  violations: readonly BudgetViolation[],
  allowed: readonly string[],
  happened: { summary: string; counts: readonly NetworkCount[] },
): string {
  const table = renderTable(
    [
      { header: 'violation' },
      { header: 'operation' },
      { header: 'server' },
      { header: 'allowed', align: 'right' },
      { header: 'happened', align: 'right' },
      { header: 'where' },
    ],
    violations.map((v) => [v.rule, v.operation, v.server, v.allowed, v.happened, v.where]),
  );
  const counts =
    happened.counts.length === 0
      ? '  (no operation exchanges)\n'
      : renderTable(
          [{ header: 'count', align: 'right' }, { header: 'server' }, { header: 'operation' }],
          happened.counts.map((c) => [String(c.count), c.server, c.operation]),
        )
          .split('\n')
          .map((l) => (l === '' ? l : `  ${l}`))
          .join('\n');
  return [
    headline,
    '',
    table,
    `Allowed: ${allowed.length > 0 ? allowed.join(', ') : '(nothing checked)'}`,
    `Happened: ${happened.summary}`,
    counts,
  ].join('\n');
}

/**
 * The error a budget failure throws. `actual`/`expected` let Jest and Vitest show a diff of the
 * counts; `showDiff: false` keeps Mocha from replacing the message (the table) with its own diff.
 */
export function budgetError(
  message: string,
  actual: unknown,
  expected: unknown,
  operator: string,
): AssertionError {
  const err = new AssertionError({ message, actual, expected, operator });
  (err as AssertionError & { showDiff?: boolean }).showDiff = false;
  return err;
}

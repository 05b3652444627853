/** `assertNetworkBudget`: a network budget checked against what a capture saw. */
import { countExchanges } from './network';
import type { Network, NetworkBudget, NetworkExchange } from './types';
import { budgetError, describeLocation, renderViolations, type BudgetViolation } from './violations';

const BUDGET_KEYS: ReadonlySet<string> = new Set([
  'maxExchanges',
  'maxConnections',
  'perServer',
  'perOperation',
  'noDuplicates',
  'noNPlusOne',
  'allowUncovered',
]);

function checkShape(budget: NetworkBudget): void {
  if (budget === null || typeof budget !== 'object')
    throw new TypeError(`budget must be an object, got ${String(budget)}`);
  for (const [k, v] of Object.entries(budget)) {
    if (!BUDGET_KEYS.has(k)) throw new TypeError(`unknown budget field ${JSON.stringify(k)}`);
    if (v === undefined) continue;
    if ((k === 'maxExchanges' || k === 'maxConnections') && !(Number.isInteger(v) && v >= 0)) {
      throw new TypeError(`budget ${k} must be a non-negative integer, got ${JSON.stringify(v)}`);
    }
    if (k === 'perServer' || k === 'perOperation') {
      for (const [key, n] of Object.entries(v as Record<string, unknown>)) {
        if (!(Number.isInteger(n) && (n as number) >= 0)) {
          throw new TypeError(
            `budget ${k}[${JSON.stringify(key)}] must be a non-negative integer, got ${JSON.stringify(n)}`,
          );
        }
      }
    }
  }
}

/** The budget as one line per rule, for the "Allowed:" line. */
function describeBudget(b: NetworkBudget): string[] {
  const out: string[] = [];
  if (b.maxExchanges !== undefined) out.push(`exchanges <= ${b.maxExchanges}`);
  if (b.maxConnections !== undefined) out.push(`connections <= ${b.maxConnections}`);
  for (const [s, n] of Object.entries(b.perServer ?? {})) out.push(`${s} <= ${n}`);
  for (const [o, n] of Object.entries(b.perOperation ?? {})) out.push(`${o} <= ${n}`);
  if (b.noDuplicates === true) out.push('noDuplicates');
  if (b.noNPlusOne === true) out.push('noNPlusOne');
  if (b.allowUncovered === false) out.push('no uncovered exchanges');
  return out;
}

const join = (xs: Iterable<string>): string => [...new Set(xs)].sort().join(', ');

/** What the capture did, in one line. */
export function summarise(network: Network): string {
  const ops = network.exchanges.filter((e) => e.phase === 'operation').length;
  const other = network.exchanges.length - ops;
  const extra = other > 0 ? ` (+${other} setup/teardown)` : '';
  const conns = network.connections.length;
  return (
    `${ops} exchange${ops === 1 ? '' : 's'}${extra} over ${conns} new connection${conns === 1 ? '' : 's'}, ` +
    `${network.networkTimeMs.toFixed(1)} ms on the network of ${network.wallTimeMs.toFixed(1)} ms`
  );
}

/** The violations of a budget by a capture (empty when it holds). */
export function budgetViolations(network: Network, budget: NetworkBudget): BudgetViolation[] {
  checkShape(budget);
  const out: BudgetViolation[] = [];
  const ops = network.exchanges.filter((e) => e.phase === 'operation');
  const over = (
    rule: string,
    operation: string,
    server: string,
    allowed: number,
    happened: number,
    ex: NetworkExchange[],
  ): void => {
    if (happened <= allowed) return;
    // Point at the first call over the budget: usually the one a change added.
    const first = ex[allowed];
    out.push({
      rule,
      operation,
      server,
      allowed: String(allowed),
      happened: String(happened),
      where: describeLocation(undefined, first?.location),
    });
  };
  if (budget.maxExchanges !== undefined) {
    over('maxExchanges', '(all)', '(all)', budget.maxExchanges, ops.length, ops);
  }
  if (budget.maxConnections !== undefined && network.connections.length > budget.maxConnections) {
    out.push({
      rule: 'maxConnections',
      operation: '(connect)',
      server: join(network.connections.map((c) => c.server)),
      allowed: String(budget.maxConnections),
      happened: String(network.connections.length),
      where: '',
    });
  }
  if (budget.perServer !== undefined) {
    const servers = new Map<string, NetworkExchange[]>();
    for (const e of ops) servers.set(e.server, [...(servers.get(e.server) ?? []), e]);
    for (const [server, list] of servers) {
      over(
        'perServer',
        join(list.map((e) => e.operation)),
        server,
        budget.perServer[server] ?? 0,
        list.length,
        list,
      );
    }
  }
  if (budget.perOperation !== undefined) {
    for (const [operation, allowed] of Object.entries(budget.perOperation)) {
      const list = ops.filter((e) => e.operation === operation);
      over('perOperation', operation, join(list.map((e) => e.server)), allowed, list.length, list);
    }
  }
  for (const f of network.findings) {
    if (
      (f.type === 'duplicate' && budget.noDuplicates === true) ||
      (f.type === 'n+1' && budget.noNPlusOne === true)
    ) {
      out.push({
        rule: f.type === 'n+1' ? 'noNPlusOne' : 'noDuplicates',
        operation: f.operation,
        server: f.server,
        allowed: 'none',
        happened: `${f.count} calls`,
        where: describeLocation(f.function, f.location),
      });
    }
  }
  if (budget.allowUncovered === false) {
    for (const c of countExchanges(ops.filter((e) => !e.covered))) {
      const first = ops.find((e) => !e.covered && e.server === c.server && e.operation === c.operation);
      out.push({
        rule: 'allowUncovered',
        operation: c.operation,
        server: c.server,
        allowed: '0 uncovered',
        happened: String(c.count),
        where: describeLocation(undefined, first?.location),
      });
    }
  }
  return out;
}

/**
 * Throws an `AssertionError` whose message is a table of what the budget allowed, what happened
 * and each violation (operation, server, count, and for an N+1 or a duplicate the function and the
 * code location that issued it). Returns quietly when the budget holds.
 */
export function assertNetworkBudget(network: Network, budget: NetworkBudget): void {
  const violations = budgetViolations(network, budget);
  if (violations.length === 0) return;
  const message = renderViolations(
    `Network budget exceeded: ${violations.length} violation${violations.length === 1 ? '' : 's'}`,
    violations,
    describeBudget(budget),
    { summary: summarise(network), counts: network.counts },
  );
  throw budgetError(message, network.counts, budget, 'assertNetworkBudget');
}

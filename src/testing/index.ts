/**
 * `sockscope/testing`: network budgets in tests. Needs `@opentelemetry/sdk-trace` and
 * `@opentelemetry/context-async-hooks` (both come with `@opentelemetry/sdk-node`).
 */
import { tapEarly } from './recorder';

export { captureNetwork } from './capture';
export { assertNetworkBudget } from './budget';
export { expectNetwork, type ExpectNetworkOptions } from './expect';
export type {
  CodeLocation,
  Network,
  NetworkBudget,
  NetworkConnection,
  NetworkCount,
  NetworkExchange,
  NetworkFinding,
} from './types';

tapEarly();

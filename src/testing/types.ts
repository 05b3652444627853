/** Public types of `sockscope/testing`. */
import type { FindingType } from '../analysis/findings';
import type { TraceSpan } from '../analysis/model';
import type { CodeLocation } from './frames';

export type { CodeLocation, FindingType };

/** One request/response round trip made during a capture. */
export interface NetworkExchange {
  /** The exchange span's name: `redis GET`, `postgresql SELECT`, `tcp exchange`. */
  operation: string;
  /** `host:port`, or a unix socket path. */
  server: string;
  /** `network.protocol.name`, else the transport (`tcp`, `unix`). */
  protocol: string;
  /** `setup` (handshake, auth), `operation`, `teardown` (QUIT, Terminate) or `heartbeat`. */
  phase: string;
  /** An upstream instrumentation's span describes it too. */
  covered: boolean;
  /** npm package that opened the socket, when known. */
  callerPackage: string | undefined;
  /** The protocol reported an error, or the socket failed. */
  error: boolean;
  startMs: number;
  durationMs: number;
  /** The user's code that issued it (the innermost stack frame outside node_modules and node:). */
  location: CodeLocation | undefined;
  spanId: string;
}

/** A connection opened during a capture. */
export interface NetworkConnection {
  server: string;
  transport: string;
  callerPackage: string | undefined;
  /** The connection failed (`error.type`), once known. */
  error: string | undefined;
}

/** How many operation exchanges went to one server with one protocol and operation. */
export interface NetworkCount {
  server: string;
  protocol: string;
  operation: string;
  count: number;
}

/** A duplicate, serial or N+1 finding of `sockscope report`, with where the code issued it. */
export interface NetworkFinding {
  type: FindingType;
  /** The traced function (or the capture) the calls were made under. */
  function: string;
  server: string;
  operation: string;
  count: number;
  estimatedSavingsMs: number;
  /** The code location of the first call involved, when a stack frame in user code was found. */
  location: CodeLocation | undefined;
}

/** What `captureNetwork` saw while its function ran. */
export interface Network {
  /** Every exchange, setup and teardown included, by start time. */
  exchanges: NetworkExchange[];
  /** Connections opened while it ran. */
  connections: NetworkConnection[];
  /**
   * Operation exchanges per server x protocol x operation, sorted. Setup, teardown and heartbeat
   * exchanges are not counted: whether a pool opened a connection is not the code's behaviour.
   */
  counts: NetworkCount[];
  /** Wall time of the function (ms). */
  wallTimeMs: number;
  /** Time with at least one exchange in flight (ms). */
  networkTimeMs: number;
  findings: NetworkFinding[];
  /** The spans behind it, in the analysis model (for `sockscope report`-style tools). */
  spans: TraceSpan[];
}

/** What `assertNetworkBudget` allows. Every field is optional; an absent one is not checked. */
export interface NetworkBudget {
  /** Operation exchanges in all. */
  maxExchanges?: number;
  /** Connections opened. */
  maxConnections?: number;
  /** Operation exchanges per server: `{ '127.0.0.1:6379': 3 }`; a server not listed is allowed none when any is listed. */
  perServer?: Record<string, number>;
  /** Operation exchanges per operation: `{ 'redis GET': 1 }`; an operation not listed is not limited. */
  perOperation?: Record<string, number>;
  /** Fail on a duplicate finding. @default false */
  noDuplicates?: boolean;
  /** Fail on an N+1 finding. @default false */
  noNPlusOne?: boolean;
  /** Allow exchanges no upstream instrumentation covers. @default true */
  allowUncovered?: boolean;
}

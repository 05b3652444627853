/**
 * The writers' side of sockscope's metrics: plain numbers in one cell per attribute set, bumped on
 * the hot path without hashing anything. The SDK reads them at collection time (instruments.ts).
 *
 * Each attribute is bounded, and so is the number of cells; past a bound, measurements keep being
 * counted under an overflow value instead of growing memory:
 * - `server.address` + `server.port`: MAX_SERVERS distinct pairs, then `_OTHER` (no port);
 * - `sockscope.caller.package`: MAX_CALLERS, then `_OTHER`;
 * - `sockscope.covered_by` and `error.type`: MAX_SMALL each, then `_OTHER`;
 * - `network.protocol.name`, `sockscope.operation`, `sockscope.phase`, `sockscope.covered`,
 *   `network.transport`: fixed vocabularies of the recognisers and of sockscope;
 * - all together: MAX_GROUPS socket groups and MAX_CELLS exchange cells; past them, one series with
 *   only `otel.metric.overflow=true`, as the SDK itself does past its cardinality limit.
 * Sockets hold a reference to their group; no cell is per socket, so sockets coming and going leave
 * nothing behind.
 */
import type { Attributes } from '@opentelemetry/api';
import * as n from './names';

export const MAX_SERVERS = 256;
export const MAX_CALLERS = 128;
export const MAX_SMALL = 64;
export const MAX_GROUPS = 1024;
export const MAX_CELLS = 4096;
/**
 * Durations a series hands to the SDK histogram per collection, at most: every one below that, a
 * uniform sample above it. The SDK's `record()` hashes the attribute set on every call (several µs
 * for ours, measured: more than all of sockscope's other per-exchange work), so recording each one
 * would put that cost on every exchange; this bounds it per collection instead (docs/metrics.md).
 */
export const SAMPLE_MAX = 1024;

const PHASES = ['operation', 'setup', 'teardown', 'heartbeat'] as const;
const COVERED: readonly n.CoveredValue[] = ['true', 'false', 'unknown'];

/**
 * Durations (seconds) waiting for the SDK histogram since the last collection: all of them up to
 * SAMPLE_MAX, then a uniform reservoir sample (Vitter's algorithm R) of SAMPLE_MAX. Exact totals
 * are counted beside it (`count`, `seconds` in the cells).
 */
export class PendingDurations {
  values = new Float64Array(16);
  length = 0;
  /** Durations offered since the last collection. */
  seen = 0;

  add(v: number): void {
    const i = this.seen++;
    let a = this.values;
    if (i < SAMPLE_MAX) {
      if (i === a.length) {
        const b = new Float64Array(Math.min(SAMPLE_MAX, a.length * 4));
        b.set(a);
        this.values = a = b;
      }
      a[i] = v;
      this.length = i + 1;
      return;
    }
    const j = Math.floor(Math.random() * (i + 1));
    if (j < SAMPLE_MAX) a[j] = v;
  }

  clear(): void {
    this.length = 0;
    this.seen = 0;
  }
}

/** The counts of one exchange attribute set. */
export class ExchangeCell {
  count = 0;
  /** Sum of the exchanges' durations, exact (the histogram may hold a sample). */
  seconds = 0;
  bytesSent = 0;
  bytesReceived = 0;
  readonly durations = new PendingDurations();
  /** The same attributes with `network.io.direction`, made once for the bytes counter. */
  readonly transmit: Attributes;
  readonly receive: Attributes;

  constructor(readonly attributes: Attributes) {
    this.transmit = { ...attributes, [n.ATTR_NETWORK_IO_DIRECTION]: 'transmit' };
    this.receive = { ...attributes, [n.ATTR_NETWORK_IO_DIRECTION]: 'receive' };
  }
}

/** The connection-level counts of one server x caller x transport. */
export class ConnectionCell {
  open = 0;
  readonly durations = new PendingDurations();
  readonly failures = new Map<string, { count: number; attributes: Attributes }>();
  constructor(readonly attributes: Attributes) {}
}

/** One operation's cells, by phase x covered (12), and covered ones by covering scope. */
class OperationSlot {
  readonly cells: Array<ExchangeCell | undefined> = new Array(PHASES.length * COVERED.length).fill(undefined);
  coveredBy: Map<string, ExchangeCell> | undefined = undefined;
}

/** What one socket's exchanges share: server, caller, transport and protocol. */
export class SocketGroup {
  private readonly ops = new Map<string, OperationSlot>();

  constructor(
    private readonly owner: MetricCells,
    readonly protocol: string | undefined,
    readonly base: Attributes,
  ) {}

  /** The cell of one exchange; `coveredBy` only when covered. */
  cell(
    operation: string | undefined,
    phase: string,
    covered: n.CoveredValue,
    coveredBy: string | undefined,
  ): ExchangeCell {
    const key = operation ?? '';
    let slot = this.ops.get(key);
    if (slot === undefined) {
      slot = new OperationSlot();
      this.ops.set(key, slot);
    }
    if (coveredBy !== undefined) {
      const scope = this.owner.coveringScope(coveredBy);
      slot.coveredBy ??= new Map();
      let c = slot.coveredBy.get(scope);
      if (c === undefined) {
        c = this.owner.newCell(this.base, operation, phase, 'true', scope);
        slot.coveredBy.set(scope, c);
      }
      return c;
    }
    const i = phaseIndex(phase) * COVERED.length + (covered === 'true' ? 0 : covered === 'false' ? 1 : 2);
    return (slot.cells[i] ??= this.owner.newCell(this.base, operation, phase, covered, undefined));
  }
}

function phaseIndex(phase: string): number {
  switch (phase) {
    case 'setup':
      return 1;
    case 'teardown':
      return 2;
    case 'heartbeat':
      return 3;
    default:
      return 0;
  }
}

export interface GroupPeer {
  transport: 'tcp' | 'unix';
  host: string | undefined;
  port: number | undefined;
  callerPackage: string | undefined;
}

/** Every cell of one instrumentation, with the bounds above. */
export class MetricCells {
  /** Exchange cells in creation order (read at collection). */
  readonly exchangeCells: ExchangeCell[] = [];
  readonly connectionCells: ConnectionCell[] = [];
  private readonly groups = new Map<string, SocketGroup>();
  private readonly connections = new Map<string, ConnectionCell>();
  private readonly servers = new Set<string>();
  private readonly callers = new Set<string>();
  private readonly scopes = new Set<string>();
  private readonly errorTypes = new Set<string>();
  private overflowGroup: SocketGroup | undefined = undefined;
  private overflowCell: ExchangeCell | undefined = undefined;
  private overflowConnection: ConnectionCell | undefined = undefined;

  /** The group of a socket's exchanges once its protocol is known (or undefined: not recognised). */
  group(peer: GroupPeer, protocol: string | undefined): SocketGroup {
    const base = this.baseAttributes(peer);
    const key = `${base.key}\u0000${protocol ?? ''}`;
    let g = this.groups.get(key);
    if (g !== undefined) return g;
    if (this.groups.size >= MAX_GROUPS) {
      return (this.overflowGroup ??= new SocketGroup(this, protocol, {
        [n.ATTR_OTEL_METRIC_OVERFLOW]: true,
      }));
    }
    const attrs = { ...base.attributes };
    if (protocol !== undefined) attrs[n.ATTR_NETWORK_PROTOCOL_NAME] = protocol;
    g = new SocketGroup(this, protocol, attrs);
    this.groups.set(key, g);
    return g;
  }

  /** The connection cell of a socket (server x caller x transport). */
  connection(peer: GroupPeer): ConnectionCell {
    const base = this.baseAttributes(peer);
    let c = this.connections.get(base.key);
    if (c !== undefined) return c;
    if (this.connections.size >= MAX_GROUPS) {
      if (this.overflowConnection === undefined) {
        this.overflowConnection = new ConnectionCell({ [n.ATTR_OTEL_METRIC_OVERFLOW]: true });
        this.connectionCells.push(this.overflowConnection);
      }
      return this.overflowConnection;
    }
    c = new ConnectionCell(base.attributes);
    this.connections.set(base.key, c);
    this.connectionCells.push(c);
    return c;
  }

  /** Counts a failed connect under its `error.type` (bounded). */
  failure(cell: ConnectionCell, errorType: string): void {
    const type = bounded(this.errorTypes, errorType, MAX_SMALL);
    let f = cell.failures.get(type);
    if (f === undefined) {
      f = { count: 0, attributes: { ...cell.attributes, [n.ATTR_ERROR_TYPE]: type } };
      cell.failures.set(type, f);
    }
    f.count++;
  }

  coveringScope(scope: string): string {
    return bounded(this.scopes, scope, MAX_SMALL);
  }

  /** A new exchange cell, or the overflow cell past MAX_CELLS. */
  newCell(
    base: Attributes,
    operation: string | undefined,
    phase: string,
    covered: n.CoveredValue,
    coveredBy: string | undefined,
  ): ExchangeCell {
    if (this.exchangeCells.length >= MAX_CELLS || base[n.ATTR_OTEL_METRIC_OVERFLOW] === true) {
      if (this.overflowCell === undefined) {
        this.overflowCell = new ExchangeCell({ [n.ATTR_OTEL_METRIC_OVERFLOW]: true });
        this.exchangeCells.push(this.overflowCell);
      }
      return this.overflowCell;
    }
    const attrs: Attributes = {
      ...base,
      [n.ATTR_SOCKSCOPE_PHASE]: phase,
      [n.ATTR_SOCKSCOPE_COVERED]: covered,
    };
    if (operation !== undefined) attrs[n.ATTR_SOCKSCOPE_OPERATION] = operation;
    if (coveredBy !== undefined) attrs[n.ATTR_SOCKSCOPE_COVERED_BY] = coveredBy;
    const c = new ExchangeCell(attrs);
    this.exchangeCells.push(c);
    return c;
  }

  /** How many series the cells hold (for tests of the bounds). */
  size(): { groups: number; exchangeCells: number; connectionCells: number } {
    return {
      groups: this.groups.size + (this.overflowGroup !== undefined ? 1 : 0),
      exchangeCells: this.exchangeCells.length,
      connectionCells: this.connectionCells.length,
    };
  }

  private baseAttributes(peer: GroupPeer): { key: string; attributes: Attributes } {
    const attributes: Attributes = { [n.ATTR_NETWORK_TRANSPORT]: peer.transport };
    let server = peer.host;
    let port = peer.transport === 'tcp' ? peer.port : undefined;
    if (server !== undefined) {
      const serverKey = `${server}:${port ?? ''}`;
      if (!this.servers.has(serverKey)) {
        if (this.servers.size < MAX_SERVERS) this.servers.add(serverKey);
        else {
          server = n.OVERFLOW_VALUE;
          port = undefined;
        }
      }
      attributes[n.ATTR_SERVER_ADDRESS] = server;
      if (port !== undefined) attributes[n.ATTR_SERVER_PORT] = port;
    }
    let caller = peer.callerPackage;
    if (caller !== undefined) {
      caller = bounded(this.callers, caller, MAX_CALLERS);
      attributes[n.ATTR_SOCKSCOPE_CALLER_PACKAGE] = caller;
    }
    return {
      key: `${peer.transport}\u0000${server ?? ''}\u0000${port ?? ''}\u0000${caller ?? ''}`,
      attributes,
    };
  }
}

/** `value` while fewer than `max` distinct values were seen (or it was seen), else `_OTHER`. */
function bounded(seen: Set<string>, value: string, max: number): string {
  if (seen.has(value)) return value;
  if (seen.size >= max) return n.OVERFLOW_VALUE;
  seen.add(value);
  return value;
}

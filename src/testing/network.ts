/** Turns a capture's recorded spans into a `Network`: exchanges, counts, time and findings. */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { SpanKindName, TraceSpan } from '../analysis/model';
import { displayServer } from '../spans/server-key';
import { captureFindings, unionLength } from './findings';
import { userLocation, type CodeLocation } from './frames';
import { stackOfSpan } from './recorder';
import type { Network, NetworkConnection, NetworkCount, NetworkExchange, NetworkFinding } from './types';

const KIND_NAMES: Record<number, SpanKindName> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};
const CAPTURE_TRACE = 'capture';
const CAPTURE_ROOT = 'capture-root';

const hrMs = (t: [number, number]): number => t[0] * 1e3 + t[1] / 1e6;

/** An SDK span in the analysis model. */
function toTraceSpan(s: ReadableSpan): TraceSpan {
  const attributes: TraceSpan['attributes'] = {};
  for (const [k, v] of Object.entries(s.attributes)) {
    if (v !== undefined) attributes[k] = v as TraceSpan['attributes'][string];
  }
  const stack = stackOfSpan(s);
  if (stack !== undefined) defineCodeAttributes(attributes, stack);
  const sc = s.spanContext();
  // Both lines: 2.x and 3.x name the parent `parentSpanContext`; older 2.x releases `parentSpanId`.
  const legacy = s as unknown as { parentSpanId?: string };
  return {
    traceId: sc.traceId,
    spanId: sc.spanId,
    parentSpanId: s.parentSpanContext?.spanId ?? legacy.parentSpanId,
    name: s.name,
    kind: KIND_NAMES[s.kind] ?? 'unspecified',
    scope: s.instrumentationScope.name,
    service: undefined,
    startMs: hrMs(s.startTime),
    endMs: hrMs(s.endTime),
    attributes,
    status:
      s.status.code === SpanStatusCode.ERROR ? 'error' : s.status.code === SpanStatusCode.OK ? 'ok' : 'unset',
    links: s.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId })),
  };
}

/**
 * The semantic conventions' `code.*` attributes (current and older names) of the user code that
 * issued an exchange, resolved from its stack only when first read.
 */
function defineCodeAttributes(attributes: TraceSpan['attributes'], stack: Error): void {
  let resolved: CodeLocation | null | undefined;
  const loc = (): CodeLocation | null => (resolved ??= userLocation(stack) ?? null);
  const fields: Record<string, (l: CodeLocation) => string | number | undefined> = {
    'code.file.path': (l) => l.file,
    'code.line.number': (l) => l.line,
    'code.column.number': (l) => l.column,
    'code.function.name': (l) => l.function,
    'code.filepath': (l) => l.file,
    'code.lineno': (l) => l.line,
    'code.function': (l) => l.function,
  };
  for (const [key, pick] of Object.entries(fields)) {
    Object.defineProperty(attributes, key, {
      enumerable: true,
      configurable: true,
      get: () => {
        const l = loc();
        return l === null ? undefined : pick(l);
      },
    });
  }
}

/**
 * One trace for the whole capture, under a root span named for it: the findings then cover all
 * the calls the function made, whatever traces the app's spans put them in.
 */
function asOneTrace(spans: TraceSpan[], name: string, startMs: number, endMs: number): TraceSpan[] {
  const ids = new Set(spans.map((s) => s.spanId));
  const root: TraceSpan = {
    traceId: CAPTURE_TRACE,
    spanId: CAPTURE_ROOT,
    parentSpanId: undefined,
    name,
    kind: 'internal',
    scope: undefined,
    service: undefined,
    startMs,
    endMs,
    attributes: {},
    status: 'unset',
    links: [],
  };
  const out = spans.map((s) => ({
    ...s,
    traceId: CAPTURE_TRACE,
    parentSpanId: s.parentSpanId !== undefined && ids.has(s.parentSpanId) ? s.parentSpanId : CAPTURE_ROOT,
  }));
  return [root, ...out];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
}

function serverOf(a: TraceSpan['attributes']): string {
  const host = str(a['server.address']) ?? str(a['network.peer.address']);
  if (host === undefined) return '(unknown server)';
  const port = str(a['server.address']) !== undefined ? str(a['server.port']) : str(a['network.peer.port']);
  return displayServer(host, port);
}

function locationOf(a: TraceSpan['attributes']): CodeLocation | undefined {
  const file = str(a['code.file.path']);
  const line = a['code.line.number'];
  if (file === undefined || typeof line !== 'number') return undefined;
  const column = a['code.column.number'];
  return {
    file,
    line,
    column: typeof column === 'number' ? column : 0,
    function: str(a['code.function.name']),
  };
}

/** An exchange span as a `NetworkExchange`. */
export function toExchange(s: TraceSpan): NetworkExchange {
  const a = s.attributes;
  const ex: NetworkExchange = {
    operation: s.name,
    server: serverOf(a),
    protocol: str(a['network.protocol.name']) ?? str(a['network.transport']) ?? 'tcp',
    phase: str(a['sockscope.phase']) ?? 'operation',
    covered: a['sockscope.covered'] === true,
    callerPackage: str(a['sockscope.caller.package']),
    error: s.status === 'error',
    startMs: s.startMs,
    durationMs: s.endMs - s.startMs,
    location: undefined,
    spanId: s.spanId,
  };
  // Formatting a stack is the costly part: only when someone reads the location.
  let cached: { value: CodeLocation | undefined } | undefined;
  Object.defineProperty(ex, 'location', {
    enumerable: true,
    get: () => (cached ??= { value: locationOf(a) }).value,
  });
  return ex;
}

function toConnection(s: ReadableSpan): NetworkConnection {
  const a = s.attributes;
  const host = str(a['server.address']);
  return {
    server: host === undefined ? '(unknown server)' : displayServer(host, str(a['server.port'])),
    transport: str(a['network.transport']) ?? 'tcp',
    callerPackage: str(a['sockscope.caller.package']),
    error: str(a['error.type']),
  };
}

const countKey = (c: { server: string; protocol: string; operation: string }): string =>
  `${c.server}\u0000${c.protocol}\u0000${c.operation}`;

/** Operation exchanges per server x protocol x operation, sorted by server, then operation. */
export function countExchanges(exchanges: readonly NetworkExchange[]): NetworkCount[] {
  const counts = new Map<string, NetworkCount>();
  for (const e of exchanges) {
    if (e.phase !== 'operation') continue;
    const k = countKey(e);
    const c = counts.get(k);
    if (c === undefined)
      counts.set(k, { server: e.server, protocol: e.protocol, operation: e.operation, count: 1 });
    else c.count++;
  }
  return [...counts.values()].sort((a, b) =>
    countKey(a) < countKey(b) ? -1 : countKey(a) > countKey(b) ? 1 : 0,
  );
}

export function buildNetwork(
  name: string,
  ended: readonly ReadableSpan[],
  connections: readonly ReadableSpan[],
  startMs: number,
  endMs: number,
): Network {
  const spans = asOneTrace(ended.map(toTraceSpan), name, startMs, endMs);
  const exchangeSpans = spans.filter((s) => s.attributes['sockscope.kind'] === 'exchange');
  const exchanges = exchangeSpans.map(toExchange).sort((a, b) => a.startMs - b.startMs);
  const byId = new Map(exchanges.map((e) => [e.spanId, e]));
  const findings: NetworkFinding[] = captureFindings(spans).map((f) => ({
    type: f.type,
    function: f.function,
    server: f.server,
    operation: f.operation,
    count: f.count,
    estimatedSavingsMs: f.estimatedSavingsMs,
    location: f.exchanges.map((id) => byId.get(id)?.location).find((l) => l !== undefined),
  }));
  return {
    exchanges,
    connections: connections.map(toConnection),
    counts: countExchanges(exchanges),
    wallTimeMs: endMs - startMs,
    networkTimeMs: unionLength(exchangeSpans.map((s): [number, number] => [s.startMs, s.endMs])),
    findings,
    spans,
  };
}

/**
 * Reading span attributes the way every analysis needs them: non-empty text, the server a span
 * names, its protocol and its operation. Attribute names come from src/spans/semconv.ts.
 */
import { displayServer } from '../spans/server-key';
import {
  ATTR_DB_OPERATION,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_SYSTEM,
  ATTR_DB_SYSTEM_NAME,
  ATTR_HTTP_METHOD,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_MESSAGING_OPERATION,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_SYSTEM,
  ATTR_NET_PEER_NAME,
  ATTR_NET_PEER_PORT,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_NETWORK_PROTOCOL_NAME,
  ATTR_NETWORK_TRANSPORT,
  ATTR_RPC_METHOD,
  ATTR_RPC_SYSTEM,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SOCKSCOPE_FUNCTION,
  ATTR_SOCKSCOPE_OPERATION,
} from '../spans/semconv';
import type { TraceSpan } from './model';

type Attributes = TraceSpan['attributes'];

/** A non-empty string attribute, or a number as text; anything else is undefined. */
export function str(v: unknown): string | undefined {
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

/**
 * The server a span names, as people read it (`host:port`, `[ipv6]:port`, a unix path), or
 * undefined when it names none. The host comes from `server.address`, else `network.peer.address`,
 * else the older `net.peer.name`, and the port from the same pair; a unix socket has no port.
 */
export function serverOf(attrs: Attributes): string | undefined {
  const pairs: Array<[string, string]> = [
    [ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT],
    [ATTR_NETWORK_PEER_ADDRESS, ATTR_NETWORK_PEER_PORT],
    [ATTR_NET_PEER_NAME, ATTR_NET_PEER_PORT],
  ];
  for (const [hostKey, portKey] of pairs) {
    const host = str(attrs[hostKey]);
    if (host === undefined) continue;
    const port = attrs[ATTR_NETWORK_TRANSPORT] === 'unix' ? undefined : str(attrs[portKey]);
    return displayServer(host, port);
  }
  return undefined;
}

/** The span's protocol, lower-case: sockscope's, a database's, a broker's, an RPC system's, or HTTP. */
export function protocolOf(span: TraceSpan): string | undefined {
  const a = span.attributes;
  const p =
    str(a[ATTR_NETWORK_PROTOCOL_NAME]) ??
    str(a[ATTR_DB_SYSTEM_NAME]) ??
    str(a[ATTR_DB_SYSTEM]) ??
    str(a[ATTR_MESSAGING_SYSTEM]) ??
    str(a[ATTR_RPC_SYSTEM]);
  if (p !== undefined) return p.toLowerCase();
  if (str(a[ATTR_HTTP_REQUEST_METHOD]) ?? str(a[ATTR_HTTP_METHOD])) return 'http';
  return undefined;
}

/** The operation name alone (`SELECT`, `GET`), from attributes or a database span's name. */
export function operationOf(span: TraceSpan): string | undefined {
  const a = span.attributes;
  const fromAttributes =
    str(a[ATTR_SOCKSCOPE_OPERATION]) ??
    str(a[ATTR_DB_OPERATION_NAME]) ??
    str(a[ATTR_DB_OPERATION]) ??
    str(a[ATTR_MESSAGING_OPERATION_NAME]) ??
    str(a[ATTR_MESSAGING_OPERATION]) ??
    str(a[ATTR_HTTP_REQUEST_METHOD]) ??
    str(a[ATTR_HTTP_METHOD]) ??
    str(a[ATTR_RPC_METHOD]);
  if (fromAttributes !== undefined) return fromAttributes;
  // Database spans without an operation attribute name it in the span name (`pg.query:SELECT db`).
  if (str(a[ATTR_DB_SYSTEM_NAME]) ?? str(a[ATTR_DB_SYSTEM]))
    return /(?:^|[\s:.])([A-Z][A-Z_]{2,})(?=\s|$)/.exec(span.name)?.[1];
  return undefined;
}

/** `sockscope.function` of a span `traced()` made. */
export function functionName(span: TraceSpan): string | undefined {
  const f = span.attributes[ATTR_SOCKSCOPE_FUNCTION];
  return typeof f === 'string' ? f : undefined;
}

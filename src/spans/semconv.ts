/**
 * Attribute names sockscope writes. Stable OpenTelemetry names come from
 * `@opentelemetry/semantic-conventions`; incubating ones (not exported by the stable entry point)
 * and sockscope's own are spelled here, once.
 */
export {
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_NETWORK_LOCAL_ADDRESS,
  ATTR_NETWORK_LOCAL_PORT,
  ATTR_NETWORK_TRANSPORT,
  ATTR_NETWORK_TYPE,
  ATTR_NETWORK_PROTOCOL_NAME,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_ERROR_TYPE,
  ATTR_DB_SYSTEM_NAME,
  ATTR_DB_OPERATION_NAME,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
} from '@opentelemetry/semantic-conventions';

// Incubating semantic conventions (stable entry point does not export them).
export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const ATTR_TLS_PROTOCOL_NAME = 'tls.protocol.name';
export const ATTR_TLS_PROTOCOL_VERSION = 'tls.protocol.version';
export const ATTR_TLS_CIPHER = 'tls.cipher';
export const ATTR_TLS_SERVER_NAME = 'tls.server.name';
export const ATTR_TLS_NEXT_PROTOCOL = 'tls.next_protocol';
export const ATTR_TLS_ESTABLISHED = 'tls.established';
// Older names some instrumentations still emit. sockscope never writes them; the analysis reads
// them to name an upstream span's server (src/analysis/attributes.ts).
export const ATTR_NET_PEER_NAME = 'net.peer.name';
export const ATTR_NET_PEER_PORT = 'net.peer.port';

// sockscope's own attributes.
export const ATTR_SOCKSCOPE_KIND = 'sockscope.kind';
export const ATTR_SOCKSCOPE_CALLER_PACKAGE = 'sockscope.caller.package';
/** The caller package's installed version (its package.json), when known. */
export const ATTR_SOCKSCOPE_CALLER_PACKAGE_VERSION = 'sockscope.caller.package.version';
export const ATTR_SOCKSCOPE_BYTES_SENT = 'sockscope.bytes_sent';
export const ATTR_SOCKSCOPE_BYTES_RECEIVED = 'sockscope.bytes_received';
export const ATTR_SOCKSCOPE_EXCHANGES = 'sockscope.exchanges';
export const ATTR_SOCKSCOPE_OPAQUE = 'sockscope.opaque';
export const ATTR_SOCKSCOPE_COVERED = 'sockscope.covered';
export const ATTR_SOCKSCOPE_COVERED_BY = 'sockscope.covered_by';
export const ATTR_SOCKSCOPE_OPERATION = 'sockscope.operation';
export const ATTR_SOCKSCOPE_REQUEST_HASH = 'sockscope.request.hash';
/** Keyed digest of the statement's literal-free shape (SQL protocols): same statement, same digest. */
export const ATTR_SOCKSCOPE_STATEMENT_HASH = 'sockscope.statement.hash';
/** Number of protocol commands in one exchange (a Redis pipeline of N commands is one exchange). */
export const ATTR_SOCKSCOPE_COMMAND_COUNT = 'sockscope.command_count';
/** Protocol heartbeats (NATS PING/PONG, AMQP heartbeat, MQTT PINGREQ) counted on the connection. */
export const ATTR_SOCKSCOPE_HEARTBEATS = 'sockscope.heartbeats';
/** Set by `traced()` on the INTERNAL span it creates. */
export const ATTR_SOCKSCOPE_FUNCTION = 'sockscope.function';

export const KIND_CONNECTION = 'connection';
export const KIND_EXCHANGE = 'exchange';

/** The tracer's (instrumentation scope's) name. */
export const SCOPE_NAME = 'sockscope';

/**
 * What an exchange is for: `setup` (handshake, auth, connection/channel open), `operation`,
 * `teardown` (Terminate, QUIT, close) or `heartbeat`; from the parser's `RequestInfo.phase`, and
 * `operation` for unrecognised bytes.
 */
export const ATTR_SOCKSCOPE_PHASE = 'sockscope.phase';

// Names the analysis reads from other instrumentations' spans and never writes: older
// semantic-convention spellings that current instrumentations still emit, and the resource's service.
export { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
export const ATTR_NET_HOST_PORT = 'net.host.port';
export const ATTR_DB_SYSTEM = 'db.system';
export const ATTR_DB_OPERATION = 'db.operation';
export const ATTR_MESSAGING_OPERATION = 'messaging.operation';
export const ATTR_HTTP_METHOD = 'http.method';
export const ATTR_HTTP_STATUS_CODE = 'http.status_code';
export const ATTR_RPC_SYSTEM = 'rpc.system';
export const ATTR_RPC_METHOD = 'rpc.method';

// Tags the Jaeger and Zipkin exporters write for span fields that OTLP carries natively (read only).
export const TAG_SPAN_KIND = 'span.kind';
export const TAG_ERROR = 'error';
export const TAG_OTEL_SCOPE_NAME = 'otel.scope.name';
export const TAG_OTEL_SCOPE_VERSION = 'otel.scope.version';
export const TAG_OTEL_LIBRARY_NAME = 'otel.library.name';
export const TAG_OTEL_LIBRARY_VERSION = 'otel.library.version';
export const TAG_OTEL_STATUS_CODE = 'otel.status_code';
export const TAG_OTEL_STATUS_DESCRIPTION = 'otel.status_description';

/**
 * The coverage rules that decided `sockscope.covered` at run time: `parent,sibling` when a
 * `SocketCoverageProcessor` was running (an exact verdict: `gaps` and `report` keep it), `parent`
 * otherwise (they re-derive the verdict from the trace).
 */
export const ATTR_SOCKSCOPE_COVERAGE_RULES = 'sockscope.coverage.rules';

import type { Attributes } from '@opentelemetry/api';

/** Values of `network.protocol.name` that sockscope recognises. */
export type ProtocolName =
  | 'http'
  | 'redis'
  | 'postgresql'
  | 'mysql'
  | 'memcached'
  | 'mongodb'
  | 'amqp'
  | 'mqtt'
  | 'nats'
  | 'kafka'
  | 'smtp'
  | 'tls'
  | 'websocket';

/** What the connection looks like when a recogniser is asked whether it speaks its protocol. */
export interface DetectInput {
  /** First bytes the client wrote (bounded prefix, at most 256 bytes); empty when the server spoke first. */
  client: Buffer;
  /** First bytes the server sent before the client wrote anything (bounded prefix); empty when none. */
  server: Buffer;
  /** Remote port the client asked for (hint only, never sufficient alone), 0 for unix sockets. */
  port: number;
  /** ALPN protocol negotiated on a TLS socket (`h2`, `http/1.1`), or undefined. */
  alpn?: string;
}

/**
 * What a request is for, so that operations can be told apart from connection chatter:
 * - `setup`: handshake, authentication, connection or channel open and configuration;
 * - `operation`: what the application asked for (also anything a parser cannot class);
 * - `teardown`: Terminate, QUIT, connection or channel close;
 * - `heartbeat`: keep-alives (PING, NOOP-style probes), whether or not they get a span.
 * Recorded as `sockscope.phase` (`ATTR_SOCKSCOPE_PHASE`); an exchange with no recognised request is
 * an `operation`.
 */
export type Phase = 'setup' | 'operation' | 'teardown' | 'heartbeat';

/** One request a parser found in the client's bytes. */
export interface RequestInfo {
  /**
   * What the request is for (see `Phase`). Every parser under src/protocols sets it; optional only
   * for requests built outside them (the HTTP/2 tap's), where absent means `operation`.
   */
  phase?: Phase;
  /** Operation name only (`GET`, `SELECT`, `basic.publish`): never keys, values or literals. */
  operation?: string;
  /** Protocol-specific attributes: `db.system.name`, `db.operation.name`, `messaging.system`,
   * `messaging.operation.name`, `http.request.method`, `network.protocol.version`. Never payload. */
  attributes?: Attributes;
  /**
   * The statement's shape: its text with every literal, parameter and number removed and white
   * space folded (`select name from authors where id = ?`), bounded in length. Never recorded as
   * such: sockscope only records a keyed digest of it (`sockscope.statement.hash`), so that an
   * N+1 loop (the same statement again and again) can be told apart from different statements
   * that share an operation name.
   */
  shape?: string;
  /** The protocol expects no response to this request (NATS PUB, MQTT QoS 0 PUBLISH, AMQP basic.publish). */
  oneWay?: boolean;
  /** A protocol heartbeat (NATS PING/PONG, AMQP heartbeat, MQTT PINGREQ): counted on the connection, no span. */
  heartbeat?: boolean;
}

/** One response a parser found complete in the server's bytes. */
export interface ResponseInfo {
  /** The protocol reported an error (Redis `-ERR`, PostgreSQL ErrorResponse, MySQL ERR, HTTP 5xx):
   * a short error type such as `redis.ERR`, `postgresql.42P01` (SQLSTATE), `mysql.1064`, `http.503`. */
  error?: string;
  /** Protocol-specific attributes learned from the response (`http.response.status_code`). Never payload. */
  attributes?: Attributes;
}

/**
 * A per-connection, stateful parser, created once a recogniser has claimed the connection.
 * It sees every byte in order in both directions and reports where requests begin and where
 * responses complete, so exchanges can end exactly at their last byte.
 *
 * Contract for implementers: never throw; never retain or mutate the chunks you are handed; keep
 * at most a bounded amount of state (partial headers, counters), never a copy of the payload;
 * read at most a bounded prefix of each message to name it. On anything unexpected, give up on
 * framing (`framed` becomes false) rather than guess.
 */
export interface ProtocolParser {
  /**
   * The protocol spoken now. It can change once: after an HTTP/1.1 upgrade it is the new protocol's
   * (`websocket`), or undefined when sockscope does not know the new protocol (exchanges are then
   * named as unrecognised: `tcp exchange`).
   */
  readonly protocol: ProtocolName | undefined;
  /** `network.protocol.version` when known (`1.1`, `2`, `3.1.1`, `5`). May be learned later. */
  readonly version: string | undefined;
  /** True while the parser can tell where responses end. When false, sockscope falls back to idle timing. */
  readonly framed: boolean;
  /**
   * Feed bytes the client wrote. Returns the requests that begin in this chunk, in order (usually
   * zero or one; N for a pipeline). A chunk continuing an earlier request returns an empty array.
   */
  onClientBytes(chunk: Buffer): RequestInfo[];
  /** Feed bytes the server sent. Returns the responses completed in this chunk, in order. */
  onServerBytes(chunk: Buffer): ResponseInfo[];
}

/** A wire-protocol recogniser: one per file under `src/protocols/`. */
export interface Recogniser {
  readonly name: ProtocolName;
  /** Pure: does this connection speak the protocol? Never throws; reads only the given prefixes. */
  detect(input: DetectInput): boolean;
  /**
   * Whether a client's first byte can start this protocol (every byte when absent: protocols the
   * server speaks first, or whose first byte can be anything). `detect()` is asked only of the
   * recognisers the first byte allows, so it must be true for every byte `detect` can accept.
   */
  clientStartsWith?(byte: number): boolean;
  /**
   * Create the per-connection parser. Detection is tried on the first server chunk when the server
   * speaks first (MySQL greeting, NATS `INFO`, SMTP `220`), else on the first client chunk. Right
   * after `createParser`, sockscope feeds the parser the whole chunk that triggered detection and
   * then every later chunk in both directions, in order. Server bytes that arrived before a
   * client-triggered detection are not replayed.
   */
  createParser(input: DetectInput): ProtocolParser;
}

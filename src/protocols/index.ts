/**
 * The wire-protocol recognisers, in detection order, and `detect()` which picks the first that
 * claims a connection.
 */
import type { DetectInput, Recogniser } from './types';
import { amqp } from './amqp';
import { http } from './http';
import { kafka } from './kafka';
import { memcached } from './memcached';
import { mongodb } from './mongodb';
import { mqtt } from './mqtt';
import { mysql } from './mysql';
import { nats } from './nats';
import { postgresql } from './postgresql';
import { redis } from './redis';
import { smtp } from './smtp';
import { tls } from './tls';
import { websocket } from './websocket';
import { parserFaults } from './base-parser';

export type {
  DetectInput,
  ProtocolName,
  ProtocolParser,
  Recogniser,
  RequestInfo,
  Phase,
  ResponseInfo,
} from './types';

/**
 * Detection order: server-first protocols (their greeting is checked when the server spoke first
 * and the client prefix is empty), then client-first ones from the most to the least specific
 * signature. Kafka is last: its header is only a size and small integers, which a PostgreSQL
 * StartupMessage also satisfies (read as api key 3, version 0).
 */
export const RECOGNISERS: readonly Recogniser[] = Object.freeze([
  mysql,
  nats,
  smtp,
  tls,
  http,
  amqp,
  mqtt,
  postgresql,
  mongodb,
  redis,
  memcached,
  kafka,
]);

export { parserFaults };
export { amqp, http, kafka, memcached, mongodb, mqtt, mysql, nats, postgresql, redis, smtp, tls };
/** Not in `RECOGNISERS`: a WebSocket connection always starts as HTTP/1.1 and is handed over at its 101. */
export { websocket };

/**
 * The recognisers to ask, in detection order, by the client's first byte: most bytes rule out most
 * protocols, so a connection is not put to all twelve (the cost is paid once per connection, with
 * cold caches).
 */
const BY_FIRST_BYTE: ReadonlyArray<readonly Recogniser[]> = Array.from({ length: 256 }, (_, b) =>
  RECOGNISERS.filter((r) => r.clientStartsWith === undefined || r.clientStartsWith(b)),
);

/** The recogniser that claims this connection, or undefined. Never throws. */
export function detect(input: DetectInput): Recogniser | undefined {
  // No client byte yet (the server spoke first), or ALPN names the protocol: ask every recogniser.
  const candidates =
    input.client.length > 0 && input.alpn === undefined ? BY_FIRST_BYTE[input.client[0]] : RECOGNISERS;
  for (const r of candidates) {
    try {
      if (r.detect(input)) return r;
    } catch {
      // a recogniser bug must not break the application's socket: treat as "not mine"
      parserFaults.detect++;
    }
  }
  return undefined;
}

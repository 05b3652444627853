import type { Attributes, Context, SpanContext } from '@opentelemetry/api';
import type { UpstreamSpan } from '../coverage/rule';
import type { RequestInfo } from '../protocols/types';
import type { ExchangeRecord } from '../spans/exchange-record';
import type { HashState } from '../spans/request-hash';

/**
 * One request/response round trip on a socket, from its first write to its last received byte.
 * Its span is created only when it ends: by then its name, coverage and whether to emit it are known.
 */
export class Exchange implements ExchangeRecord {
  /** Bytes sent and received in this exchange. */
  bytesSent = 0;
  bytesReceived = 0;
  /** Time of the last write call and of the last received byte (0 = none yet). */
  lastWriteMs: number;
  lastByteMs = 0;
  /** The first request a protocol parser found, which names the exchange. */
  request: RequestInfo | undefined = undefined;
  /** Protocol commands in the exchange (a Redis pipeline counts each). */
  commands = 0;
  /** Responses expected by framing, and received so far. */
  responsesExpected = 0;
  responsesReceived = 0;
  /** Protocol error type reported in a response (e.g. `redis.ERR`), if any. */
  error: string | undefined = undefined;
  responseAttributes: Attributes | undefined = undefined;
  hash: HashState | undefined = undefined;
  /**
   * Scope of the upstream span that covers this exchange, once known: by the parent rule from the
   * start, or by the sibling rule, decided at the start when it can be.
   */
  coveredBy: string | undefined;
  /** Upstream spans open under the parent at the start whose server was not named yet: matched at the end. */
  siblings: readonly UpstreamSpan[] | undefined = undefined;
  /** A coverage processor was running at the start: the verdict applies both rules, exactly. */
  siblingRuleApplied = false;
  /** The coverage rules ran on it (its trace is sampled, not suppressed): its verdict is known. */
  judged = false;

  constructor(
    /** Context active at the exchange's first write: its parent. */
    readonly ctx: Context,
    readonly parent: SpanContext | undefined,
    /**
     * False when suppressed, unsampled, not wanted by config (a covered one with `'uncovered'`):
     * tracked for framing, never emitted.
     */
    public emitSpan: boolean,
    /** Parent rule: scope of the upstream CLIENT/PRODUCER span that is this exchange's parent. */
    coveredByParent: string | undefined,
    readonly startMs: number,
  ) {
    this.lastWriteMs = startMs;
    this.coveredBy = coveredByParent;
  }

  /** The end time: the last byte received, else the last write (a request with no answer). */
  endMs(): number {
    return this.lastByteMs > 0 ? this.lastByteMs : this.lastWriteMs;
  }
}

/**
 * The parsers' common base: entry points that never throw into the caller, and the lazily
 * allocated result lists. Everything here is allocation-light on purpose: parsers run on every
 * chunk of every socket.
 */
import type { ProtocolParser, RequestInfo, ResponseInfo } from './types';

/** Shared "nothing found" results. Frozen so a caller that pushes into them fails loudly in tests. */
export const NO_REQUESTS = Object.freeze([]) as unknown as RequestInfo[];
export const NO_RESPONSES = Object.freeze([]) as unknown as ResponseInfo[];

/** Appends to a result array allocated lazily, so the common "nothing" case allocates nothing. */
export function add<T>(list: T[] | undefined, item: T): T[] {
  if (list === undefined) return [item];
  list.push(item);
  return list;
}

/**
 * How many times a parser's safety net caught an exception. It should stay 0: bounds checks, not the
 * net, are what keep parsers from throwing; the fuzz test asserts it.
 */
export const parserFaults = { count: 0, detect: 0 };

/**
 * Wraps a parser so that its entry points can never throw into the caller: a bug in a parser turns
 * into "unframed" (idle timing), never into a failed write or read in the application.
 */
export abstract class BaseParser implements ProtocolParser {
  abstract readonly protocol: ProtocolParser['protocol'];
  version: string | undefined = undefined;
  framed = true;
  /** Requests and responses found in the chunk being fed: handlers append with `add()`. */
  protected reqs: RequestInfo[] | undefined = undefined;
  protected resps: ResponseInfo[] | undefined = undefined;

  onClientBytes(chunk: Buffer): RequestInfo[] {
    if (!this.framed) return NO_REQUESTS;
    this.reqs = undefined;
    try {
      this.client(chunk);
    } catch {
      parserFaults.count++;
      this.framed = false;
    }
    const out = this.reqs;
    this.reqs = undefined;
    // Requests seen in a chunk that also lost the framing are not paired with anything.
    return this.framed && out !== undefined ? out : NO_REQUESTS;
  }

  onServerBytes(chunk: Buffer): ResponseInfo[] {
    if (!this.framed) return NO_RESPONSES;
    this.resps = undefined;
    let failed = false;
    try {
      this.server(chunk);
    } catch {
      parserFaults.count++;
      this.framed = false;
      failed = true;
    }
    const out = this.resps;
    this.resps = undefined;
    // Responses completed before the parser gave up on framing still end their exchanges.
    return !failed && out !== undefined ? out : NO_RESPONSES;
  }

  /** Give up on framing for good: the core falls back to idle timing. */
  protected giveUp(): undefined {
    this.framed = false;
    return undefined;
  }

  /** Reads a client chunk, appending the requests that begin in it to `this.reqs`. */
  protected abstract client(chunk: Buffer): void;
  /** Reads a server chunk, appending the responses completed in it to `this.resps`. */
  protected abstract server(chunk: Buffer): void;
}

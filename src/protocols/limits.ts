/**
 * Bounds every parser shares. One number, named once: a parser that needs another says why beside
 * its own constant.
 */

/**
 * Requests a parser tracks while they await their answers. More than this in flight means the
 * parser lost sync with the stream (or a peer is hostile), so it gives up on framing rather than
 * grow. Large enough for a client's deep pipeline (ioredis, pipelined HTTP, a MySQL batch).
 */
export const MAX_PENDING = 4096;

/**
 * Prepared statements a parser remembers per connection (name or id → operation and shape), so
 * that later executions carry the statement's operation and hash. Clients prepare a bounded set
 * (drivers cache a few hundred at most); past this the memory is dropped and refilled.
 */
export const MAX_STATEMENTS = 512;

// The global `Buffer` is an accessor in Node 20 (a LoadGlobalIC and a getter call, ~180
// instructions per use under callgrind); the module's export is a plain property.
import { Buffer } from 'node:buffer';
import { detect } from '../protocols';
import type { DetectInput, ProtocolParser } from '../protocols/types';

const EMPTY = Buffer.alloc(0);
/** Bytes of each direction kept for protocol detection (a copy, never the chunk). */
const DETECT_PREFIX = 256;
/**
 * Client bytes after which an unrecognised connection stops trying. Some clients write a request
 * a few bytes at a time (mqtt.js writes CONNECT's first byte alone), so detection accumulates
 * small writes up to this many bytes, or until the server answers.
 */
const DETECT_GIVE_UP = 64;

/** Detection's verdict: the parser (none when unrecognised), and client bytes it has not been fed. */
export interface Detected {
  parser: ProtocolParser | undefined;
  /** Earlier small writes that belong to the exchange already open (fed before the current chunk). */
  earlier: Buffer | undefined;
}

/**
 * Recognises a connection's protocol from the first bytes each side sends, once per socket. It
 * keeps bounded copies of the prefixes while undecided and returns a verdict as soon as there is one.
 */
export class ProtocolDetector {
  private serverPrefix: Buffer | undefined = undefined;
  private clientPrefix: Buffer | undefined = undefined;
  private wrote = false;

  constructor(
    private readonly port: number,
    private readonly alpn: () => string | undefined,
  ) {}

  private input(client: Buffer, server: Buffer): DetectInput {
    return { client, server, port: this.port, alpn: this.alpn() };
  }

  /** The client's bytes so far (all of them: fewer than DETECT_GIVE_UP) with this chunk. */
  onClientBytes(buf: Buffer): Detected | undefined {
    this.wrote = true;
    const prev = this.clientPrefix;
    const had = prev === undefined ? 0 : prev.length;
    const head = buf.subarray(0, DETECT_PREFIX - had);
    const client = prev === undefined ? Buffer.from(head) : Buffer.concat([prev, head]);
    const input = this.input(client, this.serverPrefix ?? EMPTY);
    const rec = detect(input);
    if (rec !== undefined) return { parser: rec.createParser(input), earlier: prev };
    if (client.length >= DETECT_GIVE_UP) return { parser: undefined, earlier: undefined };
    this.clientPrefix = client;
    return undefined;
  }

  onServerBytes(chunk: Buffer): Detected | undefined {
    const server = chunk.subarray(0, DETECT_PREFIX);
    if (!this.wrote) {
      // The server spoke first (MySQL greeting, NATS INFO, SMTP 220): try to recognise it now.
      if (this.serverPrefix !== undefined) return undefined;
      const input = this.input(EMPTY, server);
      const rec = detect(input);
      if (rec !== undefined) return { parser: rec.createParser(input), earlier: undefined };
      this.serverPrefix = Buffer.from(server);
      return undefined;
    }
    // The server answers a short request: last try, with both sides.
    const client = this.clientPrefix ?? EMPTY;
    const input = this.input(client, server);
    const parser = detect(input)?.createParser(input);
    return { parser, earlier: client.length > 0 ? client : undefined };
  }
}

/**
 * TLS seen from inside a plain socket (for example a PostgreSQL or MySQL connection upgraded to
 * TLS by wrapping the socket, or a proxy tunnel): the ClientHello is recognised and its SNI host
 * name recorded as `tls.server.name`. Everything after it is encrypted, so the parser reports the
 * ClientHello as one request (operation `handshake`) and is unframed from then on.
 */
import type { DetectInput, Recogniser, RequestInfo } from './types';
import { ATTR_TLS_SERVER_NAME } from '../spans/semconv';
import { BaseParser } from './base-parser';

function detect(input: DetectInput): boolean {
  const c = input.client;
  // record: handshake(22), version 3.x, length; handshake type ClientHello(1)
  return c.length >= 6 && c[0] === 0x16 && c[1] === 3 && c[2] <= 4 && c[5] === 1 && c.readUInt16BE(3) >= 4;
}

/**
 * Reads the SNI host name from a ClientHello held in `b` (record header first). Returns undefined
 * when it is absent, malformed, or not entirely inside `b`. Reads only within the record.
 */
export function readSni(b: Buffer): string | undefined {
  if (b.length < 9 || b[0] !== 0x16 || b[5] !== 1) return undefined;
  const end = Math.min(b.length, 5 + b.readUInt16BE(3));
  let i = 5 + 4 + 2 + 32; // handshake header, client version, random
  if (i + 1 > end) return undefined;
  i += 1 + b[i]; // session id
  if (i + 2 > end) return undefined;
  i += 2 + b.readUInt16BE(i); // cipher suites
  if (i + 1 > end) return undefined;
  i += 1 + b[i]; // compression methods
  if (i + 2 > end) return undefined;
  const extEnd = Math.min(end, i + 2 + b.readUInt16BE(i));
  i += 2;
  while (i + 4 <= extEnd) {
    const type = b.readUInt16BE(i);
    const len = b.readUInt16BE(i + 2);
    i += 4;
    if (i + len > extEnd) return undefined;
    if (type === 0 && len >= 5) {
      // server_name list: list length(2), name type(1) = host_name(0), name length(2), name
      if (b[i + 2] !== 0) return undefined;
      const n = b.readUInt16BE(i + 3);
      if (n === 0 || n > 253 || i + 5 + n > i + len) return undefined;
      for (let k = i + 5; k < i + 5 + n; k++) {
        const c = b[k];
        const ok =
          (c >= 0x61 && c <= 0x7a) ||
          (c >= 0x41 && c <= 0x5a) ||
          (c >= 0x30 && c <= 0x39) ||
          c === 0x2e ||
          c === 0x2d ||
          c === 0x5f;
        if (!ok) return undefined;
      }
      return b.toString('latin1', i + 5, i + 5 + n).toLowerCase();
    }
    i += len;
  }
  return undefined;
}

class TlsParser extends BaseParser {
  readonly protocol = 'tls' as const;
  private seen = false;

  override onClientBytes(chunk: Buffer): RequestInfo[] {
    const out = super.onClientBytes(chunk);
    if (this.seen) this.framed = false; // encrypted after the ClientHello: idle timing from here on
    return out;
  }

  protected client(chunk: Buffer): void {
    if (this.seen || chunk.length === 0) return;
    this.seen = true;
    const sni = readSni(chunk);
    this.reqs = [
      {
        phase: 'setup',
        operation: 'handshake',
        attributes: sni === undefined ? {} : { [ATTR_TLS_SERVER_NAME]: sni },
      },
    ];
  }

  protected server(): void {}
}

export const tls: Recogniser = {
  name: 'tls',
  clientStartsWith: (b) => b === 0x16 /* handshake record */,
  detect(input) {
    return detect(input);
  },
  createParser() {
    return new TlsParser();
  },
};

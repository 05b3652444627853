import { LineScanner } from './line-scanner';

/**
 * One direction of a text protocol: lines, with payloads of announced length between them (NATS
 * `PUB`/`MSG`, memcached data blocks). Scans each line without keeping it (`line` holds its
 * tokens while `onLine` runs) and skips payloads by count (a handler sets `skip`).
 */
export class LineStream {
  /** Payload bytes to skip before the next line. */
  skip = 0;
  readonly line: LineScanner;

  constructor(
    maxLine: number,
    private readonly parser: { readonly framed: boolean },
    private readonly onLine: () => void,
    /** Called when a payload has been skipped to its end. */
    private readonly onSkipped?: () => void,
    /** Sees each line's raw bytes as they pass (for a matcher that must not keep the line). */
    private readonly onBytes?: (chunk: Buffer, from: number, to: number) => void,
  ) {
    this.line = new LineScanner(maxLine);
  }

  /** Feeds a chunk; false when a line exceeded the maximum length (the stream is lost). */
  feed(chunk: Buffer): boolean {
    let i = 0;
    while (i < chunk.length && this.parser.framed) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        if (this.skip === 0) this.onSkipped?.();
        continue;
      }
      const start = i;
      const r = this.line.scan(chunk, i);
      this.onBytes?.(chunk, start, r < 0 ? chunk.length : r);
      if (r === -2) return false;
      if (r === -1) break;
      i = r;
      this.onLine();
      this.line.reset();
    }
    return true;
  }
}

/**
 * A reader for length-prefixed binary frames. It keeps the first `cap` bytes of each frame in a
 * fixed buffer (enough to name it) and skips the rest by counting, so memory does not grow with
 * the payload. `lengthOf` looks at the bytes collected so far and returns the frame's total length,
 * -1 when it needs more bytes, or -2 when the bytes make no sense.
 */
export class FrameReader {
  readonly head: Buffer;
  /** Bytes of the current frame held in `head`. */
  have = 0;
  /** Total length of the current frame, -1 while unknown. */
  total = -1;
  private pos = 0;
  private started = false;
  broken = false;

  constructor(
    cap: number,
    private readonly lengthOf: (head: Buffer, have: number) => number,
    /** Called once the first min(cap, total) bytes are held. */
    private readonly onStart: ((head: Buffer, have: number, total: number) => void) | undefined,
    /** Called when the frame's last byte has passed. */
    private readonly onEnd: ((head: Buffer, have: number, total: number) => void) | undefined,
  ) {
    this.head = Buffer.alloc(cap);
  }

  /** Feed a chunk; returns false once the stream stopped making sense (then stays false). */
  feed(chunk: Buffer): boolean {
    const len = chunk.length;
    let i = 0;
    while (i < len && !this.broken) {
      if (this.total < 0) {
        // Header bytes one at a time: frames declare their length in the first few bytes.
        if (this.have >= this.head.length) {
          this.broken = true;
          return false;
        }
        this.head[this.have++] = chunk[i++];
        this.pos++;
        const t = this.lengthOf(this.head, this.have);
        if (t === -2 || (t >= 0 && t < this.have)) {
          this.broken = true;
          return false;
        }
        if (t >= 0) this.total = t;
        else continue;
      }
      const want = Math.min(this.head.length, this.total);
      if (this.have < want) {
        const n = Math.min(want - this.have, len - i);
        chunk.copy(this.head, this.have, i, i + n);
        this.have += n;
        this.pos += n;
        i += n;
      }
      if (this.have >= want && !this.started) {
        this.started = true;
        this.onStart?.(this.head, this.have, this.total);
        if (this.broken) return false;
      }
      if (this.pos < this.total) {
        const n = Math.min(this.total - this.pos, len - i);
        this.pos += n;
        i += n;
      }
      if (this.pos >= this.total && this.have >= want) {
        const have = this.have;
        const total = this.total;
        this.have = 0;
        this.total = -1;
        this.pos = 0;
        this.started = false;
        this.onEnd?.(this.head, have, total);
      }
    }
    return !this.broken;
  }
}

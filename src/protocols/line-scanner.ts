import { LF, SP, CR, isAlpha, isDigit, lower, upper } from './bytes';

/**
 * Scans text lines (CRLF or LF terminated) byte by byte without keeping the line: it records the
 * first token (up to 16 bytes), the number of tokens, the numeric value of the first few tokens and
 * of the last token. Used by the line-based protocols (memcached, NATS, SMTP, Redis inline).
 */
export class LineScanner {
  /** First token, up to 16 bytes (extra bytes are dropped and `firstTooLong` set). */
  readonly first = Buffer.alloc(16);
  firstLen = 0;
  firstTooLong = false;
  tokens = 0;
  /** Numeric value of tokens 0..7, -1 when the token is not all digits. */
  readonly nums: number[] = [-1, -1, -1, -1, -1, -1, -1, -1];
  /** Numeric value of the last token, -1 when it is not all digits. */
  lastNum = -1;
  /** The last token's first 8 bytes, lower-cased. */
  readonly last = Buffer.alloc(8);
  lastLen = 0;
  lineLength = 0;
  /** Bit per lower-case letter seen as a one-letter token after the second token (meta flags). */
  private flags = 0;
  private tokenLen = 0;
  private inToken = false;
  private curNum = -1;

  constructor(private readonly maxLine: number) {}

  reset(): void {
    this.firstLen = 0;
    this.firstTooLong = false;
    this.tokens = 0;
    for (let k = 0; k < 8; k++) this.nums[k] = -1;
    this.lastNum = -1;
    this.lastLen = 0;
    this.lineLength = 0;
    this.flags = 0;
    this.tokenLen = 0;
    this.inToken = false;
    this.curNum = -1;
  }

  /** True when a one-letter token equal to `c` (lower-case) appeared at index 2 or later. */
  flagSeen(c: number): boolean {
    return c >= 0x61 && c <= 0x7a && (this.flags & (1 << (c - 0x61))) !== 0;
  }

  /**
   * Consume bytes of the current line from `chunk[i..]`. Returns the index just after the LF when
   * the line ended, -1 when the chunk ended first, or -2 when the line is longer than allowed.
   */
  scan(chunk: Buffer, i: number): number {
    const len = chunk.length;
    while (i < len) {
      const c = chunk[i++];
      if (++this.lineLength > this.maxLine) return -2;
      if (c === LF || c === SP || c === 0x09 || c === CR) {
        if (this.inToken) this.endToken();
        if (c === LF) return i;
        continue;
      }
      if (!this.inToken) {
        this.inToken = true;
        this.curNum = 0;
        this.lastLen = 0;
        this.tokenLen = 0;
      }
      this.tokenLen++;
      if (this.tokens === 0) {
        if (this.firstLen < this.first.length) this.first[this.firstLen++] = c;
        else this.firstTooLong = true;
      }
      if (this.lastLen < this.last.length) this.last[this.lastLen++] = lower(c);
      if (this.curNum >= 0) {
        if (isDigit(c) && this.curNum < 1e15) this.curNum = this.curNum * 10 + (c - 0x30);
        else this.curNum = -1;
      }
    }
    return -1;
  }

  private endToken(): void {
    this.inToken = false;
    if (this.tokenLen === 1 && this.tokens >= 2 && this.last[0] >= 0x61 && this.last[0] <= 0x7a)
      this.flags |= 1 << (this.last[0] - 0x61);
    if (this.tokens < 8) this.nums[this.tokens] = this.curNum;
    this.lastNum = this.curNum;
    this.tokens++;
  }

  /** First token upper-cased when it is 1..max letters, else undefined. */
  verb(max = 16): string | undefined {
    if (this.firstTooLong || this.firstLen === 0 || this.firstLen > max) return undefined;
    for (let k = 0; k < this.firstLen; k++) if (!isAlpha(this.first[k])) return undefined;
    return this.first.toString('latin1', 0, this.firstLen).toUpperCase();
  }

  firstIs(s: string): boolean {
    if (this.firstTooLong || this.firstLen !== s.length) return false;
    for (let k = 0; k < s.length; k++) if (upper(this.first[k]) !== s.charCodeAt(k)) return false;
    return true;
  }

  lastIs(s: string): boolean {
    if (this.lastLen !== s.length) return false;
    for (let k = 0; k < s.length; k++) if (this.last[k] !== s.charCodeAt(k)) return false;
    return true;
  }
}

/** Byte-level helpers shared by the parsers: ASCII classes and case folding without strings. */

export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
export function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}
export function upper(c: number): number {
  return c >= 0x61 && c <= 0x7a ? c - 0x20 : c;
}
export function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

/** True when `buf` starts with the ASCII string `s` at `off` (exact case). */
export function startsWithAscii(buf: Buffer, s: string, off = 0): boolean {
  if (buf.length - off < s.length) return false;
  for (let i = 0; i < s.length; i++) if (buf[off + i] !== s.charCodeAt(i)) return false;
  return true;
}

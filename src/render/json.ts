/**
 * `--json` output: exactly `JSON.stringify`, except that the characters it leaves raw but a
 * terminal would act on (C1 controls such as the 8-bit CSI U+009B, bidi controls, and the
 * U+2028/U+2029 line separators) are written as `\uXXXX` escapes. The parsed values are identical.
 */

const RAW_BUT_ACTIVE = /[\u0080-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

/** `JSON.stringify(value, null, indent)` that is safe to print to a terminal. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(
    RAW_BUT_ACTIVE,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

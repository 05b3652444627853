/**
 * Text from a trace file (or a server's error body) made inert before anyone reads it: terminal
 * escape sequences (OSC window titles and OSC-8 links, CSI cursor and clear-screen codes), every
 * other C0/C1 control including `\r`, and the Unicode bidi controls that reorder what is shown
 * (U+200E/U+200F, U+202A-U+202E, U+2066-U+2069). Each such character becomes U+FFFD, so the reader sees that
 * something was there and nothing drives the terminal or disguises the text. Used by the terminal
 * renderer and the HTML escaping alike.
 */

// One character at a time: ESC (and 8-bit CSI/OSC) lose their power once replaced, and the
// printable rest of a sequence (`[2J`, `]0;title`) stays visible as evidence.
// eslint-disable-next-line no-control-regex
const CONTROL_OR_BIDI = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export const REPLACEMENT = '\ufffd';

/** `text` with escape sequences, control characters and bidi controls each shown as U+FFFD. */
export function inert(text: string): string {
  return text.replace(CONTROL_OR_BIDI, REPLACEMENT);
}

/** Like `inert`, but keeps line breaks (for multi-line messages printed as they are). */
export function inertLines(text: string): string {
  return text.split('\n').map(inert).join('\n');
}

/** HTML escaping for everything that comes from a trace file. */
import { inert } from '../inert';

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Text for an HTML text node or a quoted attribute value: markup characters escaped, and control
 * and bidi characters made inert (U+FFFD), so a name cannot reorder or disguise what is shown.
 */
export function escapeHtml(value: unknown): string {
  return inert(String(value)).replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** A value safe as a CSS class name or id fragment: letters, digits, `-` and `_` only. */
export function cssToken(value: string): string {
  return value.toLowerCase().replace(/[^a-z0-9_-]+/g, '-');
}

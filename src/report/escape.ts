/** HTML escaping for everything that comes from a trace file. */

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escape text for an HTML text node or a quoted attribute value. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** A token safe as a CSS class name or id fragment: letters, digits, `-` and `_` only. */
export function token(value: string): string {
  return value.toLowerCase().replace(/[^a-z0-9_-]+/g, '-');
}

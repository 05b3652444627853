/**
 * The one place that turns a host and a port into a server key. Two forms exist on purpose:
 * - a match key (`host:port`, lower-case, IPv6 unbracketed, port possibly empty) that the coverage
 *   rule compares; a missing port matches any port;
 * - a display name (`host:port`, `[ipv6]:port`, or the bare host or unix path) for tables and reports.
 */

/** The match key of one host and port, or undefined when there is no host. */
export function matchKey(host: unknown, port: unknown): string | undefined {
  if (host === undefined || host === null || host === '') return undefined;
  let h = String(host).toLowerCase();
  // An IPv6 address may come bracketed (`[::1]`); the regex only for those.
  if (h.charCodeAt(0) === 0x5b /* [ */) h = h.replace(/^\[|\]$/g, '');
  const p = port === undefined || port === null || port === '' ? '' : String(port);
  return `${h}:${p}`;
}

/**
 * The match keys a span's attributes name: `server.address`/`server.port`,
 * `network.peer.address`/`network.peer.port`, and the older `net.peer.name`/`net.peer.port`.
 */
export function serverKeys(attributes: Readonly<Record<string, unknown>>): string[] {
  const out: string[] = [];
  push(out, matchKey(attributes['server.address'], attributes['server.port']));
  push(out, matchKey(attributes['network.peer.address'], attributes['network.peer.port']));
  push(out, matchKey(attributes['net.peer.name'], attributes['net.peer.port']));
  return out;
}

function push(out: string[], key: string | undefined): void {
  if (key !== undefined) out.push(key);
}

/** Two key lists name the same server when any pair matches (a missing port matches any port). */
export function sameServer(a: readonly string[], b: readonly string[]): boolean {
  for (const x of a) {
    const xi = x.lastIndexOf(':');
    const xh = x.slice(0, xi);
    const xp = x.slice(xi + 1);
    for (const y of b) {
      if (x === y) return true;
      const yi = y.lastIndexOf(':');
      if (xh === y.slice(0, yi) && (xp === '' || y.slice(yi + 1) === '')) return true;
    }
  }
  return false;
}

/** A server as people read it: `host:port`, `[ipv6]:port`, or the host alone (no port, unix path). */
export function displayServer(host: string, port: string | number | undefined): string {
  if (port === undefined || port === '') return host;
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The match keys of a socket's peer: the server as asked for, and the address connected to. */
export function peerKeys(peer: {
  host: string | undefined;
  port: number | undefined;
  peerAddress: string | undefined;
  peerPort: number | undefined;
}): string[] {
  const out: string[] = [];
  push(out, matchKey(peer.host, peer.port));
  push(out, matchKey(peer.peerAddress, peer.peerPort));
  return out;
}

import type { IgnoreMatcher, SocketTarget } from '../types';

function matchOne(m: IgnoreMatcher, t: SocketTarget): boolean {
  if (typeof m === 'function') return m(t) === true;
  if (typeof m === 'string') {
    if (t.path !== undefined) return m === t.path;
    return m === t.host || m === `${t.host}:${t.port}`;
  }
  if (m instanceof RegExp) {
    m.lastIndex = 0;
    if (t.path !== undefined) return m.test(t.path);
    if (t.host !== undefined && m.test(t.host)) return true;
    m.lastIndex = 0;
    return m.test(`${t.host}:${t.port}`);
  }
  if (m !== null && typeof m === 'object') {
    if (m.host === undefined && m.port === undefined) return false;
    if (m.port !== undefined && m.port !== t.port) return false;
    if (m.host instanceof RegExp) {
      m.host.lastIndex = 0;
      if (t.host === undefined || !m.host.test(t.host)) return false;
    } else if (m.host !== undefined && m.host !== t.host) return false;
    return true;
  }
  return false;
}

/** True when a socket to `target` is to be left alone. A matcher that throws counts as no match. */
export function isIgnored(matchers: readonly IgnoreMatcher[], target: SocketTarget): boolean {
  for (const m of matchers) {
    try {
      if (matchOne(m, target)) return true;
    } catch {
      // A user's matcher failing must not break the socket; treat as "not ignored".
    }
  }
  return false;
}

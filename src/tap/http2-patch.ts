import type * as http2 from 'node:http2';
import { wrapRequest, type Http2TapDeps } from './http2-tap';
import { install, uninstall } from './prototype-patch';
import { activeRegistry } from './registry';

type Fn = (...args: any[]) => any;

/** Session prototypes whose request() sockscope wrapped, to unwrap on disable(). */
const sessionProtos = new Set<object>();
// Session → the real socket (`session.socket` is a proxy that is not the tapped object).
const sessionSockets = new WeakMap<object, object>();

const deps: Http2TapDeps = {
  settings: () => activeRegistry?.settings,
  services: () => activeRegistry?.services,
  tapOfSession: (session) => {
    const socket = sessionSockets.get(session);
    return socket !== undefined ? activeRegistry?.existingTap(socket) : undefined;
  },
};

// ClientHttp2Session is not exported: its prototype's request() is wrapped at the first connect().
function wrapConnect(original: Fn): Fn {
  return function connect(this: unknown, ...args: unknown[]) {
    const registry = activeRegistry;
    if (registry !== undefined) registry.lastConnected = undefined;
    const session = original.apply(this, args);
    if (registry === undefined) return session;
    try {
      const socket = registry.lastConnected;
      if (socket !== undefined) sessionSockets.set(session, socket);
      const proto = Object.getPrototypeOf(session) as Record<string, unknown> | null;
      if (proto !== null && typeof proto.request === 'function') {
        install(proto, 'request', (request: Fn) => wrapRequest(deps, request));
        sessionProtos.add(proto);
      }
    } catch (e) {
      registry.fail(undefined, e);
    }
    return session;
  };
}

/**
 * Wraps `http2.connect` with the same stacking wrapper as the net patches: whatever is there
 * already (another instrumentation's shimmer wrapper included) stays in the chain, and on
 * removal sockscope's wrapper goes only when it is on top (else it stays inert).
 */
export function patchHttp2(m: typeof http2): void {
  install(m, 'connect', wrapConnect);
}

export function unpatchHttp2(m: typeof http2): void {
  uninstall(m, 'connect');
  for (const proto of sessionProtos) uninstall(proto, 'request');
  sessionProtos.clear();
}

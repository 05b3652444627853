/**
 * Wrapping methods of a prototype that other instrumentations wrap too (`net.Socket.prototype`).
 *
 * shimmer, through `InstrumentationBase._wrap`, first unwraps a method that is already wrapped,
 * so two instrumentations wrapping `Socket.prototype.connect` remove each other's hook:
 * `@opentelemetry/instrumentation-net`, on by default in the auto-instrumentations, did exactly
 * that to sockscope. These wrappers stack instead: sockscope wraps whatever is there (an original
 * or another instrumentation's wrapper), carries no shimmer marker that would invite an unwrap,
 * and on removal restores the previous property only when it is still on top. When another
 * wrapper sits above it, it stays in the chain and passes calls straight through.
 */
const kWrapper = Symbol('sockscope.wrapper');

type Fn = (...args: any[]) => any;
interface Marker {
  /** What was there before: the property's own descriptor, or undefined when it was inherited. */
  descriptor: PropertyDescriptor | undefined;
  original: Fn;
}

function markerOf(f: unknown): Marker | undefined {
  return typeof f === 'function' ? (f as unknown as Record<symbol, Marker | undefined>)[kWrapper] : undefined;
}

/** Whether sockscope's wrapper is anywhere in the chain of wrappers installed at proto[name]. */
export function isInstalled(proto: object, name: string): boolean {
  let f: unknown = (proto as Record<string, unknown>)[name];
  for (let depth = 0; typeof f === 'function' && depth < 32; depth++) {
    const m = markerOf(f);
    if (m !== undefined) return true;
    f = (f as { __original?: unknown }).__original;
  }
  return false;
}

/** Wraps proto[name] with `make(current)`, unless sockscope's wrapper is already in its chain. */
export function install(proto: object, name: string, make: (original: Fn) => Fn): void {
  if (isInstalled(proto, name)) return;
  const p = proto as Record<string, Fn>;
  const descriptor = Object.getOwnPropertyDescriptor(proto, name);
  const original = p[name];
  const wrapper = make(original);
  Object.defineProperty(wrapper, kWrapper, { value: { descriptor, original } satisfies Marker });
  Object.defineProperty(proto, name, {
    value: wrapper,
    writable: true,
    configurable: true,
    enumerable: descriptor?.enumerable ?? false,
  });
}

/** Restores what install() replaced when sockscope's wrapper is on top; returns whether it did. */
export function uninstall(proto: object, name: string): boolean {
  const m = markerOf((proto as Record<string, unknown>)[name]);
  if (m === undefined) return false;
  if (m.descriptor !== undefined) Object.defineProperty(proto, name, m.descriptor);
  else delete (proto as Record<string, unknown>)[name];
  return true;
}

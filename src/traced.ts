/**
 * `traced`: mark a function (or a method, as a decorator) as a unit of the `sockscope report`.
 * Each call runs inside an INTERNAL span carrying `sockscope.function`, so the report can group
 * the network calls made under it.
 */
import { failSpan, STATUS_FUNCTION_FAILED } from './spans/errors';
import { SpanKind, trace, type Span } from '@opentelemetry/api';
import { types } from 'node:util';
import { ATTR_SOCKSCOPE_FUNCTION, SCOPE_NAME } from './spans/semconv';

/** Any function, with any `this`. */
type AnyFunction = (this: any, ...args: any[]) => any;

/**
 * `@traced()` / `@traced('name')`: usable both as a TypeScript 5 standard method decorator and as
 * an `experimentalDecorators` method decorator; which one is detected from the arguments received.
 */
export interface TracedDecorator {
  <T extends AnyFunction>(value: T, context: ClassMethodDecoratorContext<any, T>): T;
  <T>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): TypedPropertyDescriptor<T> | void;
}

/**
 * `error.type` and a fixed status message: never the error's message or stack, which may hold
 * URLs, tokens or user input (the privacy promise covers every span sockscope makes).
 */
function recordError(span: Span, err: unknown): void {
  try {
    failSpan(span, err, STATUS_FUNCTION_FAILED);
  } catch {
    // Telemetry must never change the caller's behaviour.
  }
}

/** Copy `name` and `length` so the wrapper looks like the original to code that inspects it. */
function copyShape(wrapper: AnyFunction, fn: AnyFunction): void {
  try {
    Object.defineProperty(wrapper, 'length', { value: fn.length, configurable: true });
    Object.defineProperty(wrapper, 'name', { value: fn.name, configurable: true });
  } catch {
    // Non-configurable in some exotic environments: cosmetic only.
  }
}

/**
 * Wrap `fn` so each call runs in a span. `spanName` is a function so decorators can resolve the
 * class name lazily, at the first call.
 */
function wrap<F extends AnyFunction>(fn: F, spanName: (self: unknown) => string): F {
  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    const name = spanName(this);
    // Looked up per call: a tracer cached at wrap time would pin whatever provider was global then.
    const tracer = trace.getTracer(SCOPE_NAME);
    return tracer.startActiveSpan(
      name,
      { kind: SpanKind.INTERNAL, attributes: { [ATTR_SOCKSCOPE_FUNCTION]: name } },
      (span) => {
        let result: unknown;
        try {
          result = fn.apply(this, args);
        } catch (err) {
          recordError(span, err);
          span.end();
          throw err;
        }
        // Only native promises are awaited: calling `then` on a lazy thenable (a query builder)
        // would start its work early, so those end the span when the function returns.
        if (types.isPromise(result)) {
          return result.then(
            (value) => {
              span.end();
              return value;
            },
            (err: unknown) => {
              recordError(span, err);
              span.end();
              throw err;
            },
          );
        }
        span.end();
        return result;
      },
    );
  };
  copyShape(wrapper, fn);
  return wrapper as F;
}

function isStandardContext(x: unknown): x is ClassMethodDecoratorContext {
  return typeof x === 'object' && x !== null && 'kind' in x && 'name' in x;
}

/** `Class.method` for a method's owner (a prototype, or the class itself for static methods). */
function qualified(owner: unknown, method: string): string {
  const cls = typeof owner === 'function' ? owner : (owner as { constructor?: unknown })?.constructor;
  const className = typeof cls === 'function' ? cls.name : '';
  return className ? `${className}.${method}` : method;
}

function decorator(explicitName: string | undefined): TracedDecorator {
  function decorate(value: unknown, context: unknown, descriptor?: unknown): unknown {
    if (isStandardContext(context)) {
      // TypeScript 5 standard decorator: (method, context).
      if (context.kind !== 'method' || typeof value !== 'function') {
        throw new TypeError(`@traced() decorates methods, not ${String(context.kind)}s`);
      }
      const method = String(context.name);
      let resolved = explicitName;
      const replacement: AnyFunction = wrap(value as AnyFunction, (self) => {
        if (resolved === undefined) {
          // The context does not name the class: find the object that owns this method, walking
          // up from `this`, so an inherited method is named after the class that defines it.
          let owner: unknown = self;
          while (owner !== null && owner !== undefined) {
            const d = Object.getOwnPropertyDescriptor(owner, context.name);
            if (d !== undefined && d.value === replacement) break;
            owner = Object.getPrototypeOf(owner);
          }
          resolved = owner === null || owner === undefined ? method : qualified(owner, method);
        }
        return resolved;
      });
      return replacement;
    }
    // experimentalDecorators: (prototype or class, propertyKey, descriptor).
    const desc = descriptor as PropertyDescriptor | undefined;
    if (desc === undefined || typeof desc.value !== 'function') {
      throw new TypeError('@traced() decorates methods');
    }
    const name = explicitName ?? qualified(value, String(context));
    return { ...desc, value: wrap(desc.value as AnyFunction, () => name) };
  }
  return decorate as TracedDecorator;
}

/**
 * Wrap `fn` so that each call runs inside an INTERNAL span named `name`, with attribute
 * `sockscope.function` = `name`. Sync and async functions alike; `this`, arguments, return values
 * and thrown errors (or the rejection of a returned promise) pass through unchanged; a throw or
 * rejection is also recorded on the span with status ERROR.
 */
export function traced<F extends AnyFunction>(name: string, fn: F): F;
/**
 * Method decorator: `@traced()` names the span `ClassName.method`, `@traced('name')` uses `name`.
 * Works with TypeScript 5 standard decorators and with `experimentalDecorators`.
 */
export function traced(name?: string): TracedDecorator;
export function traced(name?: string, fn?: AnyFunction): AnyFunction | TracedDecorator {
  if (name !== undefined && typeof name !== 'string') {
    // `@traced` without parentheses lands here with the method (or prototype) as `name`.
    throw new TypeError('traced: name must be a string; as a decorator write @traced() or @traced("name")');
  }
  if (fn !== undefined) {
    if (typeof fn !== 'function') throw new TypeError('traced(name, fn): fn must be a function');
    const spanName = name ?? fn.name;
    return wrap(fn, () => spanName);
  }
  return decorator(name);
}

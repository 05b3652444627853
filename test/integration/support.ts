/**
 * Shared support for the real-client integration tests: stepping through client calls and waiting
 * for the exchange spans each call produced, and attribute checks.
 *
 * Every test sets `exchangeIdleMs` to a minute. An exchange still waiting for its reply then waits
 * thirty minutes before the idle sweeper would end it, so an exchange span that arrives while its
 * client is still open was ended by the protocol's framing, not by silence or by a close.
 */
import assert from 'node:assert/strict';
import { SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { randomBytes } from 'node:crypto';
import { inSpan, parentId, sockscopeSpans, waitFor } from '../helpers/otel';

export const HOST = '127.0.0.1';

/** Long enough that nothing in these tests can end by idling. */
export const FRAMING_ONLY = { exchangeIdleMs: 60_000 };

/** A short random tag, so parallel test files never share keys, queues or subjects. */
export function tag(): string {
  return randomBytes(6).toString('hex');
}

export const startMs = (s: ReadableSpan): number => hrTimeToMilliseconds(s.startTime);

/** Exchange spans exported so far, in the order they started. */
export function exchanges(): ReadableSpan[] {
  return sockscopeSpans('exchange').sort((a, b) => startMs(a) - startMs(b));
}

export interface Step<T> {
  /** The step's own span: the active span while the client call ran. */
  span: Span;
  result: T;
  /** Exchange spans exported since the step began, in the order they started. */
  exchanges: ReadableSpan[];
}

/**
 * Runs `fn` inside a span named `label` and waits until `count` new exchange spans have been
 * exported. With `FRAMING_ONLY`, an exchange span that arrives here ended by framing.
 * `only` narrows which new exchanges count (e.g. those parented to the step's span).
 */
export async function step<T>(
  label: string,
  count: number,
  fn: () => Promise<T>,
  only?: (s: ReadableSpan, span: Span) => boolean,
): Promise<Step<T>> {
  const seen = new Set(sockscopeSpans('exchange'));
  let span: Span | undefined;
  const result = await inSpan(label, (sp) => {
    span = sp;
    return fn();
  });
  const fresh = (): ReadableSpan[] =>
    exchanges().filter((s) => !seen.has(s) && (only === undefined || only(s, span as Span)));
  await waitFor(
    () => fresh().length >= count,
    5000,
    `${count} exchange span(s) for "${label}" ended by framing (got ${fresh().map((s) => s.name)})`,
  );
  return { span: span as Span, result, exchanges: fresh() };
}

/** The exchange is parented to `span` (the context active at its first write). */
export const childOf = (s: ReadableSpan, span: Span): boolean => parentId(s) === span.spanContext().spanId;

/** Asserts an exchange span's name, a subset of its attributes, and its status. */
export function assertExchange(
  s: ReadableSpan | undefined,
  name: string,
  attributes: Attributes,
  error?: string,
): void {
  assert.ok(s, `expected an exchange span ${name}`);
  assert.equal(s.name, name);
  assert.equal(s.attributes['sockscope.kind'], 'exchange');
  for (const [k, v] of Object.entries(attributes)) {
    assert.deepEqual(s.attributes[k], v, `${name}: ${k}`);
  }
  if (error === undefined) {
    assert.notEqual(s.status.code, SpanStatusCode.ERROR, `${name} is not an error`);
    assert.equal(s.attributes['error.type'], undefined, `${name}: no error.type`);
  } else {
    assert.equal(s.status.code, SpanStatusCode.ERROR, `${name} is an error`);
    assert.equal(s.attributes['error.type'], error, `${name}: error.type`);
  }
}

/** The attributes every recognised database exchange carries. */
export function db(system: string, protocol: string, operation: string, version?: string): Attributes {
  const a: Attributes = {
    'network.protocol.name': protocol,
    'sockscope.operation': operation,
    'db.system.name': system,
    'db.operation.name': operation,
  };
  if (version !== undefined) a['network.protocol.version'] = version;
  return a;
}

/** The attributes every recognised broker exchange carries. */
export function messaging(system: string, protocol: string, operation: string, version?: string): Attributes {
  const a: Attributes = {
    'network.protocol.name': protocol,
    'sockscope.operation': operation,
    'messaging.system': system,
    'messaging.operation.name': operation,
  };
  if (version !== undefined) a['network.protocol.version'] = version;
  return a;
}

/** The connection span of the socket an exchange ran on (by the exchange's link), once exported. */
export function connectionOf(s: ReadableSpan): ReadableSpan | undefined {
  const id = s.links[0]?.context.spanId;
  return sockscopeSpans('connection').find((c) => c.spanContext().spanId === id);
}

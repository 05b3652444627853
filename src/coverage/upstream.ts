import { SpanKind, type Span } from '@opentelemetry/api';
import { nowMs } from '../spans/clock';
import { SOCKSCOPE_SCOPE, canCover, otlpKind, serverKeys, type UpstreamSpan } from './rule';

/**
 * Reading SDK span fields that the API does not expose (kind, scope, parent, times), defensively:
 * with another SDK, or an older one, the answer is "not an upstream span", never a crash.
 */
interface SdkSpanLike {
  kind?: unknown;
  instrumentationScope?: { name?: unknown };
  instrumentationLibrary?: { name?: unknown };
  parentSpanContext?: { spanId?: unknown };
  parentSpanId?: unknown;
  startTime?: unknown;
  endTime?: unknown;
  ended?: unknown;
  attributes?: unknown;
  spanContext?: () => { spanId: string };
}

export function scopeOf(span: unknown): string | undefined {
  const s = span as SdkSpanLike;
  const name = s.instrumentationScope?.name ?? s.instrumentationLibrary?.name;
  return typeof name === 'string' ? name : undefined;
}

/** The scope name of `span` when it is an upstream CLIENT/PRODUCER span (parent rule), else undefined. */
export function coveringScope(span: Span | undefined): string | undefined {
  if (span === undefined) return undefined;
  try {
    const kind = (span as unknown as SdkSpanLike).kind;
    if (kind !== SpanKind.CLIENT && kind !== SpanKind.PRODUCER) return undefined;
    const scope = scopeOf(span);
    return scope !== undefined && scope !== SOCKSCOPE_SCOPE ? scope : undefined;
  } catch {
    return undefined;
  }
}

function hrToMs(t: unknown): number | undefined {
  if (Array.isArray(t) && typeof t[0] === 'number' && typeof t[1] === 'number')
    return t[0] * 1e3 + t[1] / 1e6;
  return undefined;
}

/**
 * The processor sees a span start and end as they happen, so it times them on sockscope's own
 * clock (the one exchanges use) rather than the SDK's, whose starts are whole milliseconds. A time
 * the instrumentation set explicitly (more than 2 ms away from now) is kept as given.
 */
function onOurClock(sdkMs: number | undefined): number {
  const now = nowMs();
  return sdkMs === undefined || Math.abs(sdkMs - now) <= 2 ? now : sdkMs;
}

/** A live view of an SDK span for the sibling rule; undefined when it cannot cover anything. */
export class LiveUpstream implements UpstreamSpan {
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly scope: string;
  readonly kind: number;
  readonly startMs: number;
  endMs: number | undefined = undefined;
  /** The SDK span while it is open (its attributes are read live); released when it ends. */
  private span: SdkSpanLike | undefined;
  private cachedServers: string[] | undefined = undefined;
  /** An exchange kept this span to match again when it ends (`siblingsAtStart`). */
  awaited = false;

  private constructor(
    span: SdkSpanLike,
    scope: string,
    kind: number,
    spanId: string,
    parent: string | undefined,
  ) {
    this.span = span;
    this.scope = scope;
    this.kind = kind;
    this.spanId = spanId;
    this.parentSpanId = parent;
    this.startMs = onOurClock(hrToMs(span.startTime));
  }

  /** Servers are read when matching, from the span's current attributes: instrumentations add them late. */
  get servers(): string[] {
    if (this.cachedServers !== undefined) return this.cachedServers;
    const attrs = this.span?.attributes;
    const keys =
      attrs !== null && typeof attrs === 'object' ? serverKeys(attrs as Record<string, unknown>) : [];
    // Once a span names its server it keeps naming it: compute the keys once.
    if (keys.length > 0 || this.span === undefined) this.cachedServers = keys;
    return keys;
  }

  static from(span: unknown): LiveUpstream | undefined {
    const s = span as SdkSpanLike;
    if (typeof s.kind !== 'number') return undefined;
    const kind = otlpKind(s.kind);
    const scope = scopeOf(s);
    if (!canCover(kind, scope) || scope === undefined) return undefined;
    const spanId = typeof s.spanContext === 'function' ? s.spanContext().spanId : undefined;
    if (spanId === undefined) return undefined;
    const p = s.parentSpanContext?.spanId ?? s.parentSpanId;
    return new LiveUpstream(s, scope, kind, spanId, typeof p === 'string' ? p : undefined);
  }

  markEnded(span: unknown): void {
    this.endMs = onOurClock(hrToMs((span as SdkSpanLike).endTime));
    // Attributes are final once ended. Read them a last time when an exchange still waits to be
    // matched against this span (its server may be named only now), or when none was read yet.
    if (this.awaited) this.cachedServers = undefined;
    this.cachedServers ??= this.servers;
    this.span = undefined; // an exchange still open may hold this view: not the whole SDK span
  }
}

import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { findCovering, type ExchangeForCoverage, type UpstreamSpan } from './rule';
import { LiveUpstream } from './upstream';

/** How long an ended upstream span stays available for matching exchanges that end after it. */
const RETAIN_MS = 60_000;
/** Upper bound on remembered upstream spans, so memory stays bounded on any load. */
const MAX_TRACKED = 20_000;

const active = new Set<SocketCoverageProcessor>();

/**
 * A `SpanProcessor` that lets sockscope apply the sibling coverage rule at run time: it tracks open
 * upstream CLIENT/PRODUCER spans by parent, and keeps ended ones briefly, so an exchange can be
 * matched when it ends. Add it to the tracer provider's span processors (ahead of the exporting
 * one); `sockscope/register` does so. It exports nothing and costs a map insert per client span.
 */
export class SocketCoverageProcessor implements SpanProcessor {
  private readonly byParent = new Map<string, LiveUpstream[]>();
  private readonly bySpan = new WeakMap<object, LiveUpstream>();
  private readonly ended: LiveUpstream[] = [];
  private endedHead = 0;
  private tracked = 0;

  constructor() {
    active.add(this);
  }

  onStart(span: Span, _parentContext: Context): void {
    try {
      const u = LiveUpstream.from(span);
      if (u === undefined) return;
      const key = u.parentSpanId ?? '';
      const list = this.byParent.get(key);
      if (list === undefined) this.byParent.set(key, [u]);
      else list.push(u);
      this.bySpan.set(span, u);
      this.tracked++;
      if (this.tracked > MAX_TRACKED) this.prune(Infinity);
    } catch {
      // Never let coverage bookkeeping disturb the SDK pipeline.
    }
  }

  onEnd(span: ReadableSpan): void {
    try {
      const u = this.bySpan.get(span);
      if (u === undefined) return;
      u.markEnded(span);
      this.ended.push(u);
      this.prune(Date.now() - RETAIN_MS);
    } catch {
      // see onStart
    }
  }

  /** Upstream spans under a parent (open, or ended within the retention window). */
  candidates(parentSpanId: string | undefined): readonly UpstreamSpan[] {
    return this.byParent.get(parentSpanId ?? '') ?? [];
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    active.delete(this);
    this.byParent.clear();
    this.ended.length = 0;
    this.endedHead = 0;
    this.tracked = 0;
    return Promise.resolve();
  }

  // Drops ended spans older than `before`, or the oldest ended ones while over the bound.
  private prune(before: number): void {
    while (this.endedHead < this.ended.length) {
      const u = this.ended[this.endedHead];
      if ((u.endMs ?? 0) >= before && this.tracked <= MAX_TRACKED) break;
      this.endedHead++;
      this.remove(u);
    }
    if (this.endedHead > 1024 && this.endedHead * 2 > this.ended.length) {
      this.ended.splice(0, this.endedHead);
      this.endedHead = 0;
    }
  }

  private remove(u: LiveUpstream): void {
    const key = u.parentSpanId ?? '';
    const list = this.byParent.get(key);
    if (list === undefined) return;
    const i = list.indexOf(u);
    if (i >= 0) {
      list.splice(i, 1);
      this.tracked--;
    }
    if (list.length === 0) this.byParent.delete(key);
  }
}

/** The sibling rule against every active processor; undefined when none is registered or none covers. */
export function findSiblingCover(ex: ExchangeForCoverage): UpstreamSpan | undefined {
  for (const p of active) {
    // Upstream spans are timed on the exchanges' clock here: no slack needed.
    const found = findCovering(ex, undefined, p.candidates(ex.parentSpanId), 0);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Whether any processor is registered (the sibling rule can be applied). */
export function hasCoverageProcessor(): boolean {
  return active.size > 0;
}

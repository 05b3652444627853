import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { findCovering, type ExchangeForCoverage, type UpstreamSpan } from './rule';
import { LiveUpstream } from './upstream';

/**
 * How long an ended upstream span stays available for matching exchanges that end after it.
 * Framed exchanges end at their last byte; an unframed one can end as late as 30 idle periods
 * (30 s by default) after its request, so a little more than that.
 */
const RETAIN_MS = 35_000;
/**
 * Upper bound on remembered ended upstream spans (about 200 bytes each), so memory stays bounded
 * on any load; past it the oldest go first, and only an exchange of an unframed protocol that
 * outlives 4,096 later upstream spans under load could then miss its sibling.
 */
const MAX_ENDED = 4096;

const active = new Set<SocketCoverageProcessor>();

/**
 * Upstream spans under one parent: the open ones, and the ended ones in the order they ended, so
 * that matching an exchange looks only at spans open now or ended after the exchange began
 * (a loop of thousands of calls under one request stays O(1) per exchange).
 */
class ParentEntry {
  readonly open = new Set<LiveUpstream>();
  readonly ended: LiveUpstream[] = [];
  /** Index of the first ended span still retained. */
  head = 0;

  candidates(startMs: number, out: UpstreamSpan[]): void {
    for (const u of this.open) out.push(u);
    for (let i = this.ended.length - 1; i >= this.head; i--) {
      const u = this.ended[i];
      if ((u.endMs ?? Infinity) < startMs) break; // ended before the exchange began: so did all before it
      out.push(u);
    }
  }

  get empty(): boolean {
    return this.open.size === 0 && this.head >= this.ended.length;
  }
}

/**
 * A `SpanProcessor` that lets sockscope apply the sibling coverage rule at run time: it tracks open
 * upstream CLIENT/PRODUCER spans by parent, and keeps ended ones briefly, so an exchange can be
 * matched when it ends. Add it to the tracer provider's span processors (ahead of the exporting
 * one); `sockscope/register` does so. It exports nothing and costs a map insert per client span.
 */
export class SocketCoverageProcessor implements SpanProcessor {
  private readonly byParent = new Map<string, ParentEntry>();
  private readonly bySpan = new WeakMap<object, LiveUpstream>();
  /** Every ended span in end order, for retention (oldest first). */
  private readonly endedAll: LiveUpstream[] = [];
  private endedHead = 0;

  constructor() {
    active.add(this);
  }

  onStart(span: Span, _parentContext: Context): void {
    try {
      const u = LiveUpstream.from(span);
      if (u === undefined) return;
      const key = u.parentSpanId ?? '';
      let entry = this.byParent.get(key);
      if (entry === undefined) this.byParent.set(key, (entry = new ParentEntry()));
      entry.open.add(u);
      this.bySpan.set(span, u);
    } catch {
      // Never let coverage bookkeeping disturb the SDK pipeline.
    }
  }

  onEnd(span: ReadableSpan): void {
    try {
      const u = this.bySpan.get(span);
      if (u === undefined) return;
      u.markEnded(span);
      const entry = this.byParent.get(u.parentSpanId ?? '');
      if (entry === undefined || !entry.open.delete(u)) return;
      entry.ended.push(u);
      this.endedAll.push(u);
      this.prune(Date.now() - RETAIN_MS);
    } catch {
      // see onStart
    }
  }

  /** Upstream spans under a parent that could overlap an exchange that began at `startMs`. */
  candidates(parentSpanId: string | undefined, startMs: number): UpstreamSpan[] {
    const out: UpstreamSpan[] = [];
    this.byParent.get(parentSpanId ?? '')?.candidates(startMs, out);
    return out;
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    active.delete(this);
    this.byParent.clear();
    this.endedAll.length = 0;
    this.endedHead = 0;
    return Promise.resolve();
  }

  // Forgets ended spans older than `before` (wall clock), or the oldest while over the bound.
  private prune(before: number): void {
    const all = this.endedAll;
    while (this.endedHead < all.length) {
      const u = all[this.endedHead];
      if (u.endWallMs >= before && all.length - this.endedHead <= MAX_ENDED) break;
      this.endedHead++;
      const key = u.parentSpanId ?? '';
      const entry = this.byParent.get(key);
      if (entry !== undefined) {
        // Each parent's ended list is in the same order as the global one.
        if (entry.ended[entry.head] === u) entry.head++;
        if (entry.empty) this.byParent.delete(key);
        else if (entry.head > 64 && entry.head * 2 > entry.ended.length) {
          entry.ended.splice(0, entry.head);
          entry.head = 0;
        }
      }
    }
    if (this.endedHead > 1024 && this.endedHead * 2 > all.length) {
      all.splice(0, this.endedHead);
      this.endedHead = 0;
    }
  }
}

/** The sibling rule against every active processor; undefined when none is registered or none covers. */
export function findSiblingCover(ex: ExchangeForCoverage): UpstreamSpan | undefined {
  for (const p of active) {
    // Upstream spans are timed on the exchanges' clock here: no slack needed.
    const found = findCovering(ex, undefined, p.candidates(ex.parentSpanId, ex.startMs), 0);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Whether any processor is registered (the sibling rule can be applied). */
export function hasCoverageProcessor(): boolean {
  return active.size > 0;
}

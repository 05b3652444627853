import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import { FailureLog } from '../spans/failure-log';
import { findCovering, type ExchangeForCoverage, type UpstreamSpan } from './rule';
import { LiveUpstream } from './upstream';

/** What the sibling rule records on an exchange (`Exchange` has both fields). */
export interface SiblingMatch {
  coveredBy: string | undefined;
  siblings: readonly UpstreamSpan[] | undefined;
  /** Whether a coverage processor ran at the start, so both rules decided (not the parent rule only). */
  siblingRuleApplied: boolean;
}

/**
 * The coverage processors running now, and the sibling rule applied over them. A tap is handed
 * one of these (the instrumentation passes `liveCoverage`); processors join the one they are given.
 */
export class SiblingCoverage {
  private readonly processors = new Set<SocketCoverageProcessor>();

  add(p: SocketCoverageProcessor): void {
    this.processors.add(p);
  }

  delete(p: SocketCoverageProcessor): void {
    this.processors.delete(p);
  }

  /** A processor runs, so the sibling rule can be applied (else only the parent rule can). */
  get running(): boolean {
    return this.processors.size > 0;
  }

  /**
   * The sibling rule for an exchange that starts now: the covering span's scope when one covers
   * it already; else the upstream spans open under its parent, to match again when it ends (an
   * instrumentation may name its server after the client wrote); undefined when none is open, so
   * that nothing can cover it.
   */
  siblingsAtStart(ex: ExchangeForCoverage): string | UpstreamSpan[] | undefined {
    let open: Iterable<LiveUpstream> | undefined;
    for (const p of this.processors) {
      const set = p.openUnder(ex.parentSpanId);
      if (set === undefined) continue;
      open = open === undefined ? set : [...open, ...set];
    }
    if (open === undefined) return undefined;
    // Upstream spans are timed on the exchanges' clock here: no slack needed.
    const found = findCovering(ex, undefined, open, 0);
    if (found !== undefined) return found.scope;
    const kept = [...open];
    for (const u of kept) u.awaited = true;
    return kept;
  }

  /** Applies the sibling rule at an exchange's start, unless the parent rule already covers it. */
  matchAtStart<M extends SiblingMatch>(m: M, view: (m: M) => ExchangeForCoverage): void {
    m.siblingRuleApplied = this.processors.size > 0;
    if (m.coveredBy !== undefined || this.processors.size === 0) return;
    const sib = this.siblingsAtStart(view(m));
    if (typeof sib === 'string') m.coveredBy = sib;
    else m.siblings = sib;
  }

  /** The covering scope when the exchange ends: known from its start, or matched over the spans it kept. */
  coverAtEnd<M extends SiblingMatch>(m: M, view: (m: M) => ExchangeForCoverage): string | undefined {
    if (m.coveredBy !== undefined || m.siblings === undefined) return m.coveredBy;
    return siblingCoverAtEnd(view(m), m.siblings);
  }
}

/**
 * The processors of this process: `SocketCoverageProcessor`s join it unless given another, and
 * `SocketInstrumentation` hands it to its taps. (A user builds both separately, so they meet here.)
 */
export const liveCoverage = new SiblingCoverage();

const failures = new FailureLog('an upstream span left out of run-time coverage');

/**
 * A `SpanProcessor` that lets sockscope apply the sibling coverage rule at run time: it tracks the
 * upstream CLIENT/PRODUCER spans open now, by parent. Add it to the tracer provider's span
 * processors (ahead of the exporting one); `sockscope/register` does so. It exports nothing and
 * costs a set insert and delete per client span.
 *
 * Only open spans are kept. The rule asks for an upstream span that started before the exchange's
 * first write and was still open then, so every span that can cover an exchange is open when the
 * exchange starts: the tap matches there, and keeps the few open ones only when their server is
 * not named yet (see `siblingsAtStart`). Nothing is retained after a span ends.
 */
export class SocketCoverageProcessor implements SpanProcessor {
  private readonly byParent = new Map<string, Set<LiveUpstream>>();
  private readonly bySpan = new WeakMap<object, LiveUpstream>();
  /** The last set emptied, reused for the next parent: calls made one at a time need no new set each. */
  private spare: Set<LiveUpstream> | undefined = undefined;

  constructor(private readonly coverage: SiblingCoverage = liveCoverage) {
    coverage.add(this);
  }

  onStart(span: Span, _parentContext: Context): void {
    try {
      const u = LiveUpstream.from(span);
      if (u === undefined) return;
      const key = u.parentSpanId ?? '';
      let open = this.byParent.get(key);
      if (open === undefined) {
        open = this.spare ?? new Set();
        this.spare = undefined;
        this.byParent.set(key, open);
      }
      open.add(u);
      this.bySpan.set(span, u);
    } catch (e) {
      // Never let coverage bookkeeping disturb the SDK pipeline.
      failures.report(e);
    }
  }

  onEnd(span: ReadableSpan): void {
    try {
      const u = this.bySpan.get(span);
      if (u === undefined) return;
      this.bySpan.delete(span);
      u.markEnded(span);
      const key = u.parentSpanId ?? '';
      const open = this.byParent.get(key);
      if (open !== undefined && open.delete(u) && open.size === 0) {
        this.byParent.delete(key);
        this.spare = open;
      }
    } catch (e) {
      failures.report(e); // see onStart
    }
  }

  /** Upstream spans open now under a parent (undefined when there are none). */
  openUnder(parentSpanId: string | undefined): ReadonlySet<LiveUpstream> | undefined {
    return this.byParent.get(parentSpanId ?? '');
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    this.coverage.delete(this);
    this.byParent.clear();
    this.spare = undefined;
    return Promise.resolve();
  }
}

/** The sibling rule when the exchange ends, over the spans `siblingsAtStart` kept. */
export function siblingCoverAtEnd(
  ex: ExchangeForCoverage,
  openAtStart: readonly UpstreamSpan[],
): string | undefined {
  return findCovering(ex, undefined, openAtStart, 0)?.scope;
}

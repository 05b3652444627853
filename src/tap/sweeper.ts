/**
 * One shared, unref'd timer that ends idle exchanges for every socket, instead of a timer per
 * socket. It runs while some socket has an open exchange, and a few ticks more: a service that
 * opens a connection per request would otherwise start and stop it for every connection.
 */
export interface Sweepable {
  /** Ends what has gone quiet; returns true while the socket still has open exchanges. */
  sweep(now: number): boolean;
}

/** Ticks with no member before the timer stops. */
const IDLE_TICKS = 8;

export class Sweeper {
  private readonly members = new Set<Sweepable>();
  /** The running interval; undefined once stopped. */
  private timer: NodeJS.Timeout | undefined;
  private idleTicks = 0;

  constructor(
    private readonly intervalMs: number,
    /** The clock handed to members' sweep(): the exchanges' own clock. */
    private readonly now: () => number,
  ) {}

  add(s: Sweepable): void {
    this.members.add(s);
    this.idleTicks = 0;
    if (this.timer === undefined) this.schedule();
  }

  // One interval, not a timeout re-armed per tick: a Timeout created inside a timer callback is an
  // async resource triggered by a Timeout, and once Node's async-hook init code (AsyncLocalStorage's
  // propagation, promiseInitHook) had seen those, its property loads went megamorphic for every
  // promise in the process: 600–1,200 instructions per Redis round trip under callgrind
  // (docs/performance.md). A stopped interval is inert even if its clearInterval is not honoured
  // (node:test's mock timers on Node 20 ignore one made from inside its own callback).
  private schedule(): void {
    const timer = setInterval(() => {
      if (this.timer === timer) this.tick();
    }, this.intervalMs);
    timer.unref();
    this.timer = timer;
  }

  delete(s: Sweepable): void {
    this.members.delete(s);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  get size(): number {
    return this.members.size;
  }

  /** Whether the timer is running. */
  get running(): boolean {
    return this.timer !== undefined;
  }

  private tick(): void {
    const now = this.now();
    for (const s of this.members) {
      let keep = false;
      try {
        keep = s.sweep(now);
      } catch {
        // A failing member is dropped rather than retried forever.
      }
      if (!keep) this.members.delete(s);
    }
    if (this.members.size > 0) this.idleTicks = 0;
    else if (++this.idleTicks >= IDLE_TICKS) this.stop();
  }
}

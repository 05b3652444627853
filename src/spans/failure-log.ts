import { diag } from '@opentelemetry/api';

/** Internal failures logged per log before it falls silent: enough to diagnose, never a flood. */
export const FAILURES_LOGGED = 10;

/**
 * sockscope's own failures (a bug, or an input it did not expect) are caught where they happen so
 * that no exception reaches the app; each such place reports them here, through the OpenTelemetry
 * diag logger, at most `FAILURES_LOGGED` times.
 */
export class FailureLog {
  private count = 0;

  constructor(
    /** What was left undone when a failure happens, e.g. `socket left untraced`. */
    private readonly consequence: string,
  ) {}

  report(e: unknown): void {
    if (this.count++ < FAILURES_LOGGED) diag.error(`sockscope: internal error, ${this.consequence}`, e);
  }

  /** Failures reported so far, logged or not. */
  get reported(): number {
    return this.count;
  }
}

import type { Tracer } from '@opentelemetry/api';
import type { SiblingCoverage } from '../coverage/processor';
import type { SocketMetrics } from '../metrics/instruments';
import type { ExchangeMode } from '../types';
import type { Sweeper } from './sweeper';

/** The resolved options every socket tap reads on its hot path (updated in place by setConfig). */
export interface TapSettings {
  exchanges: ExchangeMode;
  requireParentSpan: boolean;
  hashRequests: boolean;
  exchangeIdleMs: number;
}

/** The running machinery the taps share: handed in, never reached through module globals. */
export interface TapServices {
  /** The instrumentation's tracer (read per span: the provider may be replaced at run time). */
  tracer(): Tracer;
  /** Ends idle exchanges of every socket. */
  sweeper: Sweeper;
  /** The sibling coverage rule over the coverage processors running now. */
  coverage: SiblingCoverage;
  /** Metric cells, bumped for every exchange while `metrics.recording`. */
  metrics: SocketMetrics;
}

import type { Tracer } from '@opentelemetry/api';
import type { ExchangeMode } from '../types';
import type { Sweeper } from './sweeper';

/** Resolved configuration and shared machinery every socket tap reads on its hot path. */
export interface TapSettings {
  /** The instrumentation's tracer (read per span: the provider may be replaced at run time). */
  tracer(): Tracer;
  exchanges: ExchangeMode;
  requireParentSpan: boolean;
  hashRequests: boolean;
  exchangeIdleMs: number;
  sweeper: Sweeper;
}

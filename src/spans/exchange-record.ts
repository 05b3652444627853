import type { Attributes, Context } from '@opentelemetry/api';
import type { RequestInfo } from '../protocols/types';
import type { HashState } from './request-hash';

/**
 * What span building reads of an ended exchange. The tap's `Exchange` is one; declaring it here
 * keeps imports one way (the tap depends on span output, never the reverse).
 */
export interface ExchangeRecord {
  readonly ctx: Context;
  readonly startMs: number;
  endMs(): number;
  bytesSent: number;
  bytesReceived: number;
  request: RequestInfo | undefined;
  commands: number;
  error: string | undefined;
  responseAttributes: Attributes | undefined;
  hash: HashState | undefined;
  /** Both coverage rules were applied at run time (a coverage processor was running). */
  siblingRuleApplied: boolean;
}

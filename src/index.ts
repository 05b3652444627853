/**
 * sockscope: an OpenTelemetry instrumentation that traces every client socket connection and
 * request/response exchange, names it by wire protocol, and marks which calls no upstream
 * instrumentation covers. The public API is this explicit list.
 */
export { SocketInstrumentation } from './instrumentation';
export type { SocketInstrumentationConfig, ExchangeMode, IgnoreMatcher, SocketTarget } from './types';
export { SocketCoverageProcessor } from './coverage/processor';
export { traced } from './traced';
export type { TracedDecorator } from './traced';
export { JsonlFileSpanExporter } from './export/jsonl-file-exporter';
export type { JsonlFileSpanExporterOptions } from './export/jsonl-file-exporter';

// Analysis: the functions behind `sockscope gaps` and `sockscope report`, for use from code.
export { readTraceFile, readTraceSpans, parseTraceText } from './analysis/read';
export type { TraceSpan } from './analysis/model';
export { analyzeGaps } from './analysis/gaps';
export type { GapRow, GapTotals, GapsResult } from './analysis/gaps';
export { DEFAULT_THRESHOLDS } from './analysis/findings';
export type { Finding, FindingType, ReportThresholds } from './analysis/findings';
export { reportFromSpans } from './analysis/report';
export type { Report, FunctionReport, ServerUsage } from './analysis/report';

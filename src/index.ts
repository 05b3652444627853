/**
 * sockscope: an OpenTelemetry instrumentation that traces every client socket connection and
 * request/response exchange, names it by wire protocol, and marks which calls no upstream
 * instrumentation covers. The public API is this explicit list.
 */
export { SocketInstrumentation } from './tap/instrumentation';
export type { SocketInstrumentationConfig, ExchangeMode, IgnoreMatcher, SocketTarget } from './types';
export { SocketCoverageProcessor } from './coverage/processor';
export { traced } from './traced';
export type { TracedDecorator } from './traced';
export { JsonlFileSpanExporter } from './export/jsonl-file-exporter';
export type { JsonlFileSpanExporterOptions } from './export/jsonl-file-exporter';

// Analysis: the functions behind `sockscope gaps` and `sockscope report`, for use from code.
export { readTraceFile, readTraceSpans, readTraceBatches, parseTraceText } from './analysis/read';
export type { ReadOptions } from './analysis/read';
export type { TraceSpan, SpanKindName, AttributeValue } from './analysis/model';
export { classifyExchanges } from './analysis/exchanges';
export type { ExchangeVerdict } from './analysis/exchanges';
export { analyzeGaps, analyzeGapsStream } from './analysis/gaps';
export type { GapRow, GapTotals, GapsResult } from './analysis/gaps';
export { DEFAULT_THRESHOLDS, resolveThresholds, analyzeTraces, detectFindings } from './analysis/findings';
export type {
  AnalysisOptions,
  Finding,
  FindingType,
  ReportThresholds,
  TraceAnalysis,
} from './analysis/findings';
export { reportFromSpans, buildReport, summarizeFindings } from './analysis/report';
export type { Report, FunctionReport, ServerUsage, FindingSummary } from './analysis/report';
export { renderHtml } from './report/html';

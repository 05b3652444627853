/**
 * Environment parsing for `sockscope/register`. Pure: reads the given variables and returns the
 * settings plus the warnings to show, so that it is testable without starting anything. Each
 * invalid value yields one warning naming the variable and the accepted values, and the default
 * is used instead: a typo must never stop the app from starting.
 */
import { DiagLogLevel } from '@opentelemetry/api';
import type { ExchangeMode } from '../types';
import { SYNC_DETECTORS, type DetectorName } from './resource';

export type Env = Readonly<Record<string, string | undefined>>;

export type TracesExporterName = 'otlp' | 'zipkin' | 'console';
export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';

export interface RegisterSettings {
  /** `SOCKSCOPE_EXCHANGES`. */
  exchanges: ExchangeMode;
  /** `SOCKSCOPE_AUTO_INSTRUMENTATIONS`: load the official instrumentations when installed. */
  autoInstrumentations: boolean;
  /** `OTEL_TRACES_EXPORTER`, deduplicated; empty for `none`. */
  tracesExporters: TracesExporterName[];
  /** `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`. */
  otlpProtocol: OtlpProtocol;
  /** `SOCKSCOPE_FILE`: also append spans to this JSONL file. */
  file?: string;
  /** `SOCKSCOPE_FILE_MAX_BYTES`: rotation size of that file. */
  fileMaxBytes?: number;
  /** `SOCKSCOPE_SHUTDOWN_TIMEOUT_MS`: how long a signal or exit waits for the final flush. */
  shutdownTimeoutMs: number;
  /** `OTEL_LOG_LEVEL`, when set and valid. */
  logLevel?: DiagLogLevel;
  /**
   * `SOCKSCOPE_FLUSH_BEFORE_EXIT`: on a natural exit, wait (up to the shutdown timeout) for the
   * exporters to send what is queued. Off by default: it delays the exit, which apps can observe.
   */
  flushBeforeExit: boolean;
  /** `OTEL_NODE_RESOURCE_DETECTORS`, limited to the detectors that answer synchronously. */
  resourceDetectors: DetectorName[];
  /**
   * `OTEL_BSP_*`, the ones set. The BatchSpanProcessor of `@opentelemetry/sdk-trace` (2.x and 3.x)
   * does not read them itself (sdk-node did), so register passes them.
   */
  batch?: BatchSettings;
}

export interface BatchSettings {
  maxQueueSize?: number;
  maxExportBatchSize?: number;
  scheduledDelayMillis?: number;
  exportTimeoutMillis?: number;
}

const BATCH_VARIABLES: readonly [keyof BatchSettings, string, string][] = [
  ['maxQueueSize', 'OTEL_BSP_MAX_QUEUE_SIZE', 'the default 2048'],
  ['maxExportBatchSize', 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 'the default 512'],
  ['scheduledDelayMillis', 'OTEL_BSP_SCHEDULE_DELAY', 'the default 5000'],
  ['exportTimeoutMillis', 'OTEL_BSP_EXPORT_TIMEOUT', 'the default 30000'],
];

function parseBatch(env: Env, warnings: string[]): BatchSettings | undefined {
  const batch: BatchSettings = {};
  for (const [key, name, fallback] of BATCH_VARIABLES) {
    const n = positiveInteger(env, name, warnings, fallback);
    if (n !== undefined) batch[key] = n;
  }
  return Object.keys(batch).length > 0 ? batch : undefined;
}

export interface ParsedSettings {
  settings: RegisterSettings;
  /** One message per invalid variable, ready for `diag.warn`. */
  warnings: string[];
}

export const EXCHANGE_MODES: readonly ExchangeMode[] = ['all', 'uncovered', 'none'];
export const TRACES_EXPORTERS: readonly string[] = ['otlp', 'zipkin', 'console', 'none'];
export const OTLP_PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json', 'grpc'];
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5000;

const LOG_LEVELS: Readonly<Record<string, DiagLogLevel>> = {
  NONE: DiagLogLevel.NONE,
  ERROR: DiagLogLevel.ERROR,
  WARN: DiagLogLevel.WARN,
  INFO: DiagLogLevel.INFO,
  DEBUG: DiagLogLevel.DEBUG,
  VERBOSE: DiagLogLevel.VERBOSE,
  ALL: DiagLogLevel.ALL,
};

/** The OpenTelemetry rule: an empty or blank value is the same as an unset one. */
function read(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function invalid(name: string, value: string, accepted: readonly string[], fallback: string): string {
  return `sockscope: ${name}=${JSON.stringify(value)} is not valid; accepted values: ${accepted.join(', ')}. Using ${fallback}.`;
}

function positiveInteger(
  env: Env,
  name: string,
  warnings: string[],
  fallbackText: string,
): number | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    warnings.push(invalid(name, raw, ['a positive whole number'], fallbackText));
    return undefined;
  }
  return n;
}

function boolean(env: Env, name: string, fallback: boolean, warnings: string[]): boolean {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const v = raw.toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  warnings.push(invalid(name, raw, ['true', 'false'], `the default "${fallback}"`));
  return fallback;
}

export function parseRegisterEnv(env: Env): ParsedSettings {
  const warnings: string[] = [];

  let exchanges: ExchangeMode = 'all';
  const rawExchanges = read(env, 'SOCKSCOPE_EXCHANGES');
  if (rawExchanges !== undefined) {
    const v = rawExchanges.toLowerCase();
    if ((EXCHANGE_MODES as readonly string[]).includes(v)) exchanges = v as ExchangeMode;
    else warnings.push(invalid('SOCKSCOPE_EXCHANGES', rawExchanges, EXCHANGE_MODES, 'the default "all"'));
  }

  const autoInstrumentations = boolean(env, 'SOCKSCOPE_AUTO_INSTRUMENTATIONS', true, warnings);
  const flushBeforeExit = boolean(env, 'SOCKSCOPE_FLUSH_BEFORE_EXIT', false, warnings);

  const tracesExporters = parseTracesExporters(read(env, 'OTEL_TRACES_EXPORTER'), warnings);

  let otlpProtocol: OtlpProtocol = 'http/protobuf';
  const protocolVar =
    read(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') !== undefined
      ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
      : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const rawProtocol = read(env, protocolVar);
  if (rawProtocol !== undefined) {
    const v = rawProtocol.toLowerCase();
    if ((OTLP_PROTOCOLS as readonly string[]).includes(v)) otlpProtocol = v as OtlpProtocol;
    else warnings.push(invalid(protocolVar, rawProtocol, OTLP_PROTOCOLS, 'the default "http/protobuf"'));
  }

  const file = read(env, 'SOCKSCOPE_FILE');
  const fileMaxBytes = positiveInteger(env, 'SOCKSCOPE_FILE_MAX_BYTES', warnings, 'the default (100 MiB)');
  const shutdownTimeoutMs =
    positiveInteger(
      env,
      'SOCKSCOPE_SHUTDOWN_TIMEOUT_MS',
      warnings,
      `the default ${DEFAULT_SHUTDOWN_TIMEOUT_MS}`,
    ) ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;

  let logLevel: DiagLogLevel | undefined;
  const rawLevel = read(env, 'OTEL_LOG_LEVEL');
  if (rawLevel !== undefined) {
    logLevel = LOG_LEVELS[rawLevel.toUpperCase()];
    if (logLevel === undefined) {
      // The SDK falls back to INFO for an unknown level; keep sockscope's quieter default instead.
      warnings.push(
        invalid(
          'OTEL_LOG_LEVEL',
          rawLevel,
          Object.keys(LOG_LEVELS).map((k) => k.toLowerCase()),
          'warn',
        ),
      );
      logLevel = DiagLogLevel.WARN;
    }
  }

  const resourceDetectors = parseDetectors(read(env, 'OTEL_NODE_RESOURCE_DETECTORS'), warnings);
  const batch = parseBatch(env, warnings);

  return {
    settings: {
      resourceDetectors,
      flushBeforeExit,
      exchanges,
      autoInstrumentations,
      tracesExporters,
      otlpProtocol,
      ...(file !== undefined ? { file } : {}),
      ...(fileMaxBytes !== undefined ? { fileMaxBytes } : {}),
      shutdownTimeoutMs,
      ...(logLevel !== undefined ? { logLevel } : {}),
      ...(batch !== undefined ? { batch } : {}),
    },
    warnings,
  };
}

/**
 * `OTEL_TRACES_EXPORTER` is a comma list. `none` alone means no exporter (a `SOCKSCOPE_FILE` still
 * gets spans); `none` next to others is ignored. Unknown names are reported once, together, and
 * skipped; if nothing valid remains the default `otlp` is used.
 */
function parseTracesExporters(raw: string | undefined, warnings: string[]): TracesExporterName[] {
  if (raw === undefined) return ['otlp'];
  const names = [
    ...new Set(
      raw
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter((s) => s !== ''),
    ),
  ];
  if (names.length === 0) return ['otlp'];
  const unknown = names.filter((n) => !TRACES_EXPORTERS.includes(n));
  const valid = names.filter((n) => TRACES_EXPORTERS.includes(n) && n !== 'none') as TracesExporterName[];
  if (unknown.length > 0) {
    const fallback = valid.length > 0 ? `only ${valid.join(', ')}` : 'the default "otlp"';
    warnings.push(invalid('OTEL_TRACES_EXPORTER', raw, TRACES_EXPORTERS, fallback));
    return valid.length > 0 ? valid : ['otlp'];
  }
  return valid;
}

/**
 * `OTEL_NODE_RESOURCE_DETECTORS` is a comma list (`all`, `none`, or names). Only the detectors that
 * answer synchronously run under `sockscope/register` (see resource.ts); any other name (a cloud or
 * container detector) is reported once and skipped.
 */
function parseDetectors(raw: string | undefined, warnings: string[]): DetectorName[] {
  if (raw === undefined) return [...SYNC_DETECTORS];
  const names = raw
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  if (names.includes('none')) return [];
  if (names.includes('all')) return [...SYNC_DETECTORS];
  const known = names.filter((n): n is DetectorName => (SYNC_DETECTORS as readonly string[]).includes(n));
  const skipped = names.filter((n) => !(SYNC_DETECTORS as readonly string[]).includes(n));
  if (skipped.length > 0)
    warnings.push(
      `sockscope: OTEL_NODE_RESOURCE_DETECTORS names ${skipped.join(', ')}, which sockscope/register does not run (only detectors that answer synchronously: ${SYNC_DETECTORS.join(', ')}, all, none). Skipping ${skipped.length === 1 ? 'it' : 'them'}.`,
    );
  return [...new Set(known)];
}

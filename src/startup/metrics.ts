/**
 * Metrics for `sockscope/register`: a MeterProvider of the app's own SDK line when the standard
 * `OTEL_METRICS_EXPORTER` asks for one (`otlp`, `prometheus`, `console`; `none` is the default
 * here, as register exists for traces), and `SOCKSCOPE_METRICS` to keep sockscope's own instruments
 * out of it. Exporter packages are required only when chosen.
 */
import { diag } from '@opentelemetry/api';
import type { MeterProvider, MetricReader, PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { Resource } from '@opentelemetry/resources';
import { requireSdk } from './resolve';

export type MetricsExporterName = 'otlp' | 'prometheus' | 'console';
export type OtlpMetricsProtocol = 'http/protobuf' | 'http/json' | 'grpc';

export interface MetricsSettings {
  /** `OTEL_METRICS_EXPORTER`, deduplicated; empty for `none` (the default under register). */
  metricsExporters: MetricsExporterName[];
  /** `SOCKSCOPE_METRICS`: sockscope's own instruments (default true). */
  sockscopeMetrics: boolean;
  /** `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`. */
  otlpMetricsProtocol: OtlpMetricsProtocol;
  /** `OTEL_METRIC_EXPORT_INTERVAL` (ms) for the push exporters. */
  exportIntervalMs?: number;
}

export const METRICS_EXPORTERS: readonly string[] = ['otlp', 'prometheus', 'console', 'none'];
const OTLP_PROTOCOLS: readonly OtlpMetricsProtocol[] = ['http/protobuf', 'http/json', 'grpc'];

type Env = Readonly<Record<string, string | undefined>>;

function read(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function invalid(name: string, value: string, accepted: readonly string[], fallback: string): string {
  return `sockscope: ${name}=${JSON.stringify(value)} is not valid; accepted values: ${accepted.join(', ')}. Using ${fallback}.`;
}

/** The metrics part of register's environment; one warning per bad variable, the default used. */
export function parseMetricsEnv(env: Env, warnings: string[]): MetricsSettings {
  const metricsExporters: MetricsExporterName[] = [];
  const raw = read(env, 'OTEL_METRICS_EXPORTER');
  if (raw !== undefined) {
    const names = [...new Set(raw.split(',').map((s) => s.trim().toLowerCase()))].filter((s) => s !== '');
    const unknown = names.filter((x) => !METRICS_EXPORTERS.includes(x));
    for (const x of names)
      if (METRICS_EXPORTERS.includes(x) && x !== 'none') metricsExporters.push(x as MetricsExporterName);
    if (unknown.length > 0) {
      const fallback = metricsExporters.length > 0 ? `only ${metricsExporters.join(', ')}` : '"none"';
      warnings.push(invalid('OTEL_METRICS_EXPORTER', raw, METRICS_EXPORTERS, fallback));
    }
  }
  let sockscopeMetrics = true;
  const rawOwn = read(env, 'SOCKSCOPE_METRICS');
  if (rawOwn !== undefined) {
    const v = rawOwn.toLowerCase();
    if (v === 'false') sockscopeMetrics = false;
    else if (v !== 'true')
      warnings.push(invalid('SOCKSCOPE_METRICS', rawOwn, ['true', 'false'], 'the default "true"'));
  }
  let otlpMetricsProtocol: OtlpMetricsProtocol = 'http/protobuf';
  const own = read(env, 'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL');
  const rawProtocol = own ?? read(env, 'OTEL_EXPORTER_OTLP_PROTOCOL');
  if (rawProtocol !== undefined) {
    const v = rawProtocol.toLowerCase();
    if ((OTLP_PROTOCOLS as readonly string[]).includes(v)) otlpMetricsProtocol = v as OtlpMetricsProtocol;
    // A bad OTEL_EXPORTER_OTLP_PROTOCOL is reported once, by the traces settings (env.ts).
    else if (own !== undefined)
      warnings.push(
        invalid('OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', own, OTLP_PROTOCOLS, 'the default "http/protobuf"'),
      );
  }
  let exportIntervalMs: number | undefined;
  const rawInterval = read(env, 'OTEL_METRIC_EXPORT_INTERVAL');
  if (rawInterval !== undefined) {
    const ms = Number(rawInterval);
    if (Number.isInteger(ms) && ms > 0) exportIntervalMs = ms;
    else
      warnings.push(
        invalid(
          'OTEL_METRIC_EXPORT_INTERVAL',
          rawInterval,
          ['a positive whole number of ms'],
          'the default 60000',
        ),
      );
  }
  return {
    metricsExporters,
    sockscopeMetrics,
    otlpMetricsProtocol,
    ...(exportIntervalMs !== undefined ? { exportIntervalMs } : {}),
  };
}

type MetricsSdk = typeof import('@opentelemetry/sdk-metrics');

const OTLP_METRICS_PACKAGES: Record<OtlpMetricsProtocol, string> = {
  'http/protobuf': '@opentelemetry/exporter-metrics-otlp-proto',
  'http/json': '@opentelemetry/exporter-metrics-otlp-http',
  grpc: '@opentelemetry/exporter-metrics-otlp-grpc',
};

/**
 * Resource attributes the Prometheus endpoint puts on every series, besides `target_info`: so that
 * `sockscope gaps --prometheus --service NAME` selects a service without a join.
 */
const PROMETHEUS_RESOURCE_LABELS = /^service\.(name|namespace|instance\.id)$/;

/**
 * The standard OTEL_EXPORTER_PROMETHEUS_HOST / _PORT, passed explicitly: the 2.x exporter reads them
 * itself, the 3.x one (0.30x) no longer does and would always listen on 9464.
 */
function prometheusEndpoint(env: NodeJS.ProcessEnv): { host?: string; port?: number } {
  const host = env.OTEL_EXPORTER_PROMETHEUS_HOST?.trim();
  const port = Number(env.OTEL_EXPORTER_PROMETHEUS_PORT?.trim());
  return {
    ...(host ? { host } : {}),
    ...(Number.isInteger(port) && port > 0 && port < 65536 ? { port } : {}),
  };
}

function reader(name: MetricsExporterName, s: MetricsSettings, sdk: MetricsSdk): MetricReader {
  if (name === 'prometheus') {
    // Its own HTTP server (OTEL_EXPORTER_PROMETHEUS_HOST / _PORT, default port 9464, /metrics).
    const { PrometheusExporter } = requireSdk<typeof import('@opentelemetry/exporter-prometheus')>(
      '@opentelemetry/exporter-prometheus',
    );
    // The exporter pins its own sdk-metrics version: a reader all the same, of a twin declaration.
    return new PrometheusExporter({
      withResourceConstantLabels: PROMETHEUS_RESOURCE_LABELS,
      ...prometheusEndpoint(process.env),
    }) as unknown as MetricReader;
  }
  const exporter: PushMetricExporter =
    name === 'console'
      ? new sdk.ConsoleMetricExporter()
      : new (requireSdk<{ OTLPMetricExporter: new () => PushMetricExporter }>(
          OTLP_METRICS_PACKAGES[s.otlpMetricsProtocol],
        ).OTLPMetricExporter)();
  return new sdk.PeriodicExportingMetricReader({
    exporter,
    ...(s.exportIntervalMs !== undefined ? { exportIntervalMillis: s.exportIntervalMs } : {}),
  });
}

/**
 * The MeterProvider register starts, or undefined when no metrics exporter is asked for (or the
 * SDK package is missing: said once, and the app runs without metrics).
 */
export function startMeterProvider(s: MetricsSettings, resource: Resource): MeterProvider | undefined {
  if (s.metricsExporters.length === 0) return undefined;
  let sdk: MetricsSdk;
  try {
    sdk = requireSdk<MetricsSdk>('@opentelemetry/sdk-metrics');
  } catch {
    diag.warn(
      `sockscope: OTEL_METRICS_EXPORTER=${s.metricsExporters.join(',')} needs @opentelemetry/sdk-metrics in the app; metrics are off`,
    );
    return undefined;
  }
  const readers: MetricReader[] = [];
  for (const name of s.metricsExporters) {
    try {
      readers.push(reader(name, s, sdk));
    } catch (err) {
      diag.warn(
        `sockscope: the ${name} metrics exporter could not start (${(err as Error)?.name}); skipping it`,
      );
    }
  }
  if (readers.length === 0) return undefined;
  return new sdk.MeterProvider({ resource, readers });
}

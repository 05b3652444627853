/**
 * In-process tracing for the demo, without NodeSDK: a TracerProvider with the coverage
 * processor ahead of the exporters, the JSONL file every sockscope command reads, optionally OTLP,
 * and the official instrumentations next to sockscope's, as a real app would have them.
 */
import { writeFileSync } from 'node:fs';
import type { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { registerInstrumentations, type Instrumentation } from '@opentelemetry/instrumentation';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { context, trace } from '@opentelemetry/api';
import {
  BatchSpanProcessor,
  TracerProvider,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { SocketCoverageProcessor } from '../coverage/processor';
import { JsonlFileSpanExporter } from '../export/jsonl-file-exporter';
import { SocketInstrumentation } from '../tap/instrumentation';
import { load } from './modules';

/** Delegates to an exporter and remembers what happened, so the demo can say whether OTLP worked. */
class ObservedExporter implements SpanExporter {
  sent = 0;
  failure: string | undefined;

  constructor(private readonly inner: SpanExporter) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) this.sent += spans.length;
      else this.failure ??= result.error?.message || 'export failed';
      resultCallback(result);
    });
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

/** Where the OTLP/HTTP exporter sends, by the same variables it reads itself. */
export function otlpTracesUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!base) return undefined;
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

export interface DemoTracing {
  /** The OTLP destination, when spans also go there. */
  otlpUrl: string | undefined;
  /** The demo's own Prometheus metrics endpoint on loopback, which `sockscope top` can read. */
  metricsUrl: string | undefined;
  /**
   * Ends every open socket span (by disabling the instrumentations), flushes and shuts the
   * exporters down. Resolves to a one-line OTLP outcome when OTLP is on.
   */
  shutdown(): Promise<string | undefined>;
}

/** Settles after `ms` at the latest: a collector that never answers must not hold the demo. */
function atMost(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    p.then(
      () => (clearTimeout(timer), resolve()),
      () => (clearTimeout(timer), resolve()),
    );
  });
}

/** A free loopback port: the Prometheus exporter needs a number before it listens. */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * sockscope's metrics on a Prometheus endpoint of the demo's own, for the `top` snapshot it prints.
 * Undefined when the metrics packages are missing: the demo then prints no snapshot.
 */
async function startMetrics(): Promise<{ provider: MeterProvider; url: string } | undefined> {
  try {
    const { MeterProvider: Provider } = await load<typeof import('@opentelemetry/sdk-metrics')>(
      '@opentelemetry/sdk-metrics',
    );
    const { PrometheusExporter } = await load<typeof import('@opentelemetry/exporter-prometheus')>(
      '@opentelemetry/exporter-prometheus',
    );
    const port = await freePort();
    const exporter = new PrometheusExporter({ host: '127.0.0.1', port });
    // The exporter pins its own sdk-metrics version: a reader all the same, of a twin declaration.
    const provider = new Provider({ readers: [exporter as unknown as MetricReader] });
    return { provider, url: `http://127.0.0.1:${port}/metrics` };
  } catch {
    return undefined;
  }
}

/**
 * Starts tracing into `file` (truncated first). Call before any client library is required: the
 * official instrumentations patch them as they load.
 */
export async function startTracing(file: string, serviceName: string): Promise<DemoTracing> {
  writeFileSync(file, '');
  const { AsyncLocalStorageContextManager } = await load<typeof import('@opentelemetry/context-async-hooks')>(
    '@opentelemetry/context-async-hooks',
  );
  const { PgInstrumentation } = await load<typeof import('@opentelemetry/instrumentation-pg')>(
    '@opentelemetry/instrumentation-pg',
  );
  const { UndiciInstrumentation } = await load<typeof import('@opentelemetry/instrumentation-undici')>(
    '@opentelemetry/instrumentation-undici',
  );
  const { HttpInstrumentation } = await load<typeof import('@opentelemetry/instrumentation-http')>(
    '@opentelemetry/instrumentation-http',
  );

  const processors: SpanProcessor[] = [
    // First, so it sees upstream spans start before any exchange under them ends.
    new SocketCoverageProcessor(),
    new BatchSpanProcessor({ exporter: new JsonlFileSpanExporter({ path: file }) }),
  ];
  const otlpUrl = otlpTracesUrl();
  let otlp: ObservedExporter | undefined;
  if (otlpUrl !== undefined) {
    const { OTLPTraceExporter } = await load<typeof import('@opentelemetry/exporter-trace-otlp-http')>(
      '@opentelemetry/exporter-trace-otlp-http',
    );
    otlp = new ObservedExporter(new OTLPTraceExporter({ timeoutMillis: 5000 }));
    processors.push(new BatchSpanProcessor({ exporter: otlp }));
  }
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': process.env.OTEL_SERVICE_NAME || serviceName }),
    spanProcessors: processors,
  });
  // Global provider and AsyncLocalStorage context manager: traced() uses the global tracer.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);

  const instrumentations: Instrumentation[] = [
    new PgInstrumentation(),
    new UndiciInstrumentation(),
    // The demo's own HTTP API runs in this process: its server side is a backend, not the service.
    new HttpInstrumentation({ ignoreIncomingRequestHook: () => true }),
    new SocketInstrumentation(),
  ];
  const metrics = await startMetrics();
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    ...(metrics !== undefined ? { meterProvider: metrics.provider } : {}),
    instrumentations,
  });

  return {
    otlpUrl,
    metricsUrl: metrics?.url,
    shutdown: async () => {
      unregister();
      if (metrics !== undefined) await atMost(metrics.provider.shutdown(), 2000);
      await atMost(provider.forceFlush(), 8000);
      await atMost(provider.shutdown(), 2000);
      if (otlp === undefined) return undefined;
      if (otlp.failure !== undefined) return `could not send spans to ${otlpUrl}: ${otlp.failure}`;
      return `sent ${otlp.sent} spans to ${otlpUrl}`;
    },
  };
}

/**
 * The exporting span processors `sockscope/register` starts, from the standard `OTEL_*` settings.
 * Exporters are required only when chosen: the gRPC one alone loads @grpc/grpc-js, and every
 * module loaded here is start-up time the app pays for.
 */
import * as path from 'node:path';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import { JsonlFileSpanExporter } from '../export/jsonl-file-exporter';
import type { OtlpProtocol, RegisterSettings } from './env';
import { requireSdk } from './resolve';

type TraceSdk = typeof import('@opentelemetry/sdk-trace');

const OTLP_PACKAGES: Record<OtlpProtocol, string> = {
  grpc: '@opentelemetry/exporter-trace-otlp-grpc',
  'http/json': '@opentelemetry/exporter-trace-otlp-http',
  'http/protobuf': '@opentelemetry/exporter-trace-otlp-proto',
};

function createOtlpExporter(protocol: OtlpProtocol): SpanExporter {
  const { OTLPTraceExporter } = requireSdk<{ OTLPTraceExporter: new () => SpanExporter }>(
    OTLP_PACKAGES[protocol],
  );
  return new OTLPTraceExporter();
}

/**
 * Builds its exporter at the first export instead of at start-up: an OTLP exporter and its
 * serialisers are ~50 ms of module loading that a process which exports later (or never: a CLI
 * that makes no connection) should not pay before its first line. `require` is synchronous, so an
 * export at `exit` still reaches the real exporter.
 */
export class LazyExporter implements SpanExporter {
  private inner: SpanExporter | undefined;

  constructor(private readonly create: () => SpanExporter) {}

  private get(): SpanExporter {
    this.inner ??= this.create();
    return this.inner;
  }

  export(spans: Parameters<SpanExporter['export']>[0], done: Parameters<SpanExporter['export']>[1]): void {
    let exporter: SpanExporter;
    try {
      exporter = this.get();
    } catch (err) {
      done({ code: 1 /* ExportResultCode.FAILED */, error: err as Error });
      return;
    }
    exporter.export(spans, done);
  }

  forceFlush(): Promise<void> {
    return this.inner?.forceFlush?.() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.inner?.shutdown() ?? Promise.resolve();
  }
}

/** The exporting processors, in the order the settings name them; the file one last. */
export function createExportingProcessors(settings: RegisterSettings, sdk: TraceSdk): SpanProcessor[] {
  const processors: SpanProcessor[] = [];
  for (const name of settings.tracesExporters) {
    if (name === 'console') {
      processors.push(new sdk.SimpleSpanProcessor({ exporter: new sdk.ConsoleSpanExporter() }));
      continue;
    }
    const exporter = new LazyExporter(() =>
      name === 'zipkin'
        ? new (requireSdk<{ ZipkinExporter: new () => SpanExporter }>(
            '@opentelemetry/exporter-zipkin',
          ).ZipkinExporter)()
        : createOtlpExporter(settings.otlpProtocol),
    );
    // The SDK's BatchSpanProcessor applies OTEL_BSP_* (queue size, delay, timeout).
    processors.push(new sdk.BatchSpanProcessor({ exporter }));
  }
  if (settings.file !== undefined) {
    const exporter = new JsonlFileSpanExporter({
      path: path.resolve(settings.file),
      ...(settings.fileMaxBytes !== undefined ? { maxBytes: settings.fileMaxBytes } : {}),
    });
    processors.push(new sdk.BatchSpanProcessor({ exporter }));
  }
  return processors;
}

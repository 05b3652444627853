/**
 * The exporting span processors `sockscope/register` starts, from the standard `OTEL_*` settings.
 * Exporters are required only when chosen: the gRPC one alone loads @grpc/grpc-js, and every
 * module loaded here is start-up time the app pays for.
 */
import * as path from 'node:path';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import { JsonlFileSpanExporter } from '../export/jsonl-file-exporter';
import type { OtlpProtocol, RegisterSettings } from './env';
import { inBackground } from './background';
import { isExiting } from './exiting';
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
 * A network exporter as register runs it:
 * - built at the first export instead of at start-up: an OTLP exporter and its serialisers are
 *   ~50 ms of module loading that a process which exports later (or never: a CLI that makes no
 *   connection) should not pay before its first line;
 * - its work in the background (background.ts): an export in flight never keeps the process alive;
 * - nothing at `exit`: a request started there cannot leave the process (the socket connects
 *   asynchronously, and the loop has stopped), so building the exporter and serialising the queue
 *   then only delayed the exit (~150 ms for the OTLP exporter's first load).
 */
export class LazyExporter implements SpanExporter {
  private inner: SpanExporter | undefined;

  constructor(
    private readonly create: () => SpanExporter,
    private readonly exiting: () => boolean = isExiting,
  ) {}

  private get(): SpanExporter {
    this.inner ??= this.create();
    return this.inner;
  }

  export(spans: Parameters<SpanExporter['export']>[0], done: Parameters<SpanExporter['export']>[1]): void {
    if (this.exiting()) {
      done({ code: 1 /* ExportResultCode.FAILED */, error: new Error('the process is exiting') });
      return;
    }
    let exporter: SpanExporter;
    try {
      exporter = this.get();
    } catch (err) {
      done({ code: 1 /* ExportResultCode.FAILED */, error: err as Error });
      return;
    }
    inBackground((settled) =>
      exporter.export(spans, (result) => {
        settled();
        done(result);
      }),
    );
  }

  forceFlush(): Promise<void> {
    if (this.inner?.forceFlush === undefined) return Promise.resolve();
    const inner = this.inner;
    return inBackground((settled) => inner.forceFlush!().finally(settled));
  }

  shutdown(): Promise<void> {
    if (this.inner === undefined) return Promise.resolve();
    const inner = this.inner;
    return inBackground((settled) => inner.shutdown().finally(settled));
  }
}

/**
 * The batch processor arms a ref'd timer (its export timeout, 30 s) for every batch it hands to the
 * exporter, so an export in flight held the process through the processor as well. Each batch runs
 * in the background instead. `_flushOneBatch` is internal to the SDK's BatchSpanProcessorBase (the
 * 2.x and 3.x lines alike); without it, the exporter's own work is still in the background.
 */
function batchesInBackground(processor: SpanProcessor): SpanProcessor {
  const target = processor as unknown as { _flushOneBatch?: () => Promise<void> };
  const flushOneBatch = target._flushOneBatch;
  if (typeof flushOneBatch !== 'function') return processor;
  target._flushOneBatch = function (this: unknown): Promise<void> {
    return inBackground((settled) => {
      const batch = flushOneBatch.call(this);
      batch.then(settled, settled);
      return batch;
    });
  };
  return processor;
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
    processors.push(batchesInBackground(new sdk.BatchSpanProcessor({ ...settings.batch, exporter })));
  }
  if (settings.file !== undefined) {
    const exporter = new JsonlFileSpanExporter({
      path: path.resolve(settings.file),
      ...(settings.fileMaxBytes !== undefined ? { maxBytes: settings.fileMaxBytes } : {}),
    });
    processors.push(new sdk.BatchSpanProcessor({ ...settings.batch, exporter }));
  }
  return processors;
}

/**
 * Zero-code start: `node --require sockscope/register app.js` or
 * `node --import sockscope/register app.mjs`.
 *
 * Starts the OpenTelemetry `NodeSDK` with `SocketInstrumentation`, `SocketCoverageProcessor` ahead
 * of the exporting processors, the official instrumentations when the app has
 * `@opentelemetry/auto-instrumentations-node`, and the exporters chosen by the standard `OTEL_*`
 * variables plus `SOCKSCOPE_*` (see docs/exporters.md). Nothing here may throw into the app: a
 * failure is reported through `diag` and the app runs untraced.
 */
import * as path from 'node:path';
import * as os from 'node:os';
import { DiagConsoleLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { SocketInstrumentation } from './tap/instrumentation';
import { SocketCoverageProcessor } from './coverage/processor';
import { JsonlFileSpanExporter } from './export/jsonl-file-exporter';
import { parseRegisterEnv, type OtlpProtocol, type RegisterSettings } from './startup/env';

const STARTED = Symbol.for('sockscope.register.started');
const AUTO_INSTRUMENTATIONS = '@opentelemetry/auto-instrumentations-node';

interface Started {
  processors: SpanProcessor[];
  shutdown(): Promise<void>;
  /** Ends the spans of sockets still open (the process is ending, so are they). */
  endOpenSpans(): void;
}

function hasDiagLogger(): boolean {
  // The API keeps its globals under this versioned symbol; a registered logger means the user (or
  // another preload) chose where diagnostics go, and we must not replace it.
  const globals = (globalThis as Record<symbol, { diag?: unknown } | undefined>)[
    Symbol.for('opentelemetry.js.api.1')
  ];
  return globals?.diag !== undefined;
}

/**
 * Where `--import` loaded us (an ES module imported this CommonJS file: no parent) or the entry is
 * an ES module, official instrumentations can only patch ESM imports of client libraries through
 * the import-in-the-middle loader hook, registered before the app's first import.
 */
function registerEsmHook(): void {
  const loadedByImport = module.parent == null;
  const entry = process.argv[1] ?? '';
  if (!loadedByImport && !/\.m[jt]s$/.test(entry)) return;
  const nodeModule = require('node:module') as typeof import('node:module');
  if (typeof nodeModule.register !== 'function') {
    diag.warn('sockscope: this Node.js has no module.register(); ESM imports will not be instrumented');
    return;
  }
  const { pathToFileURL } = require('node:url') as typeof import('node:url');
  // Resolved from this file, so the hook of the @opentelemetry/instrumentation copy sockscope uses.
  nodeModule.register('@opentelemetry/instrumentation/hook.mjs', pathToFileURL(__filename));
}

/** Resolves a package the way the app would, then from sockscope's own location. */
function resolveFromApp(id: string): string | undefined {
  const bases = [process.argv[1] ? path.dirname(path.resolve(process.argv[1])) : undefined, process.cwd()];
  for (const base of bases) {
    if (base === undefined) continue;
    try {
      return require.resolve(id, { paths: [base] });
    } catch {
      // not found from there; try the next base
    }
  }
  try {
    return require.resolve(id);
  } catch {
    return undefined;
  }
}

function loadAutoInstrumentations(): Instrumentation[] {
  const resolved = resolveFromApp(AUTO_INSTRUMENTATIONS);
  if (resolved === undefined) return [];
  try {
    // Lazy: loading it pulls in ~40 instrumentation packages, so only when present and wanted.
    const { getNodeAutoInstrumentations } = require(resolved) as {
      getNodeAutoInstrumentations(config: Record<string, { enabled?: boolean }>): Instrumentation[];
    };
    // sockscope's connection spans replace the official instrumentation-net.
    return getNodeAutoInstrumentations({ '@opentelemetry/instrumentation-net': { enabled: false } });
  } catch (err) {
    diag.warn(`sockscope: could not load ${AUTO_INSTRUMENTATIONS}: ${(err as Error).message}`);
    return [];
  }
}

function createOtlpExporter(protocol: OtlpProtocol): SpanExporter {
  // Lazy requires: the gRPC exporter alone loads @grpc/grpc-js, which only gRPC users should pay for.
  switch (protocol) {
    case 'grpc':
      return new (require('@opentelemetry/exporter-trace-otlp-grpc').OTLPTraceExporter)();
    case 'http/json':
      return new (require('@opentelemetry/exporter-trace-otlp-http').OTLPTraceExporter)();
    case 'http/protobuf':
      return new (require('@opentelemetry/exporter-trace-otlp-proto').OTLPTraceExporter)();
  }
}

/** The exporting processors, in the order the settings name them; the file one last. */
function createExportingProcessors(settings: RegisterSettings): SpanProcessor[] {
  const processors: SpanProcessor[] = [];
  for (const name of settings.tracesExporters) {
    if (name === 'console') {
      processors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
      continue;
    }
    const exporter =
      name === 'zipkin'
        ? (new (require('@opentelemetry/exporter-zipkin').ZipkinExporter)() as SpanExporter)
        : createOtlpExporter(settings.otlpProtocol);
    // The sdk-trace-base BatchSpanProcessor applies OTEL_BSP_* (queue size, delay, timeout).
    processors.push(new BatchSpanProcessor(exporter));
  }
  if (settings.file !== undefined) {
    processors.push(
      new BatchSpanProcessor(
        new JsonlFileSpanExporter({
          path: path.resolve(settings.file),
          ...(settings.fileMaxBytes !== undefined ? { maxBytes: settings.fileMaxBytes } : {}),
        }),
      ),
    );
  }
  return processors;
}

function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    // Unref'd: a flush that finishes early must not keep the process alive for the full timeout.
    const timer = setTimeout(resolve, ms);
    timer.unref();
    p.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (err: unknown) => {
        clearTimeout(timer);
        diag.warn(`sockscope: flushing spans failed: ${(err as Error)?.message ?? String(err)}`);
        resolve();
      },
    );
  });
}

async function flushInOrder(processors: SpanProcessor[]): Promise<void> {
  // The coverage processor first: spans it releases must reach the exporting processors' queues
  // before those are flushed.
  for (const p of processors) await p.forceFlush();
}

/**
 * Flush on SIGTERM/SIGINT and normal exit without taking over the app's own signal handling: when
 * the app listens for the signal, only flush (the app decides when to exit); when it does not,
 * flush and shut down, then re-raise the signal so the process ends as it would have without us
 * (killed by the signal; a shell reports 128 + signal number).
 */
function installExitHooks(started: Started, timeoutMs: number): void {
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
  const onSignal = (signal: NodeJS.Signals): void => {
    const appListens = process.listenerCount(signal) > 1;
    if (appListens) {
      void withTimeout(flushInOrder(started.processors), timeoutMs);
      return;
    }
    started.endOpenSpans();
    void withTimeout(
      flushInOrder(started.processors).then(() => started.shutdown()),
      timeoutMs,
    ).then(() => {
      for (const s of signals) process.removeListener(s, onSignal);
      process.kill(process.pid, signal);
      // If the re-raised signal does not end the process (it is blocked or ignored), exit with the
      // conventional code rather than hang.
      setTimeout(() => process.exit(128 + (os.constants.signals[signal] ?? 0)), 1000);
    });
  };
  for (const s of signals) process.on(s, onSignal);

  let flushing = false;
  process.on('beforeExit', () => {
    // beforeExit fires again once our flush's own work is done; an empty flush schedules nothing,
    // so the process then exits.
    if (flushing) return;
    flushing = true;
    const done = flushInOrder(started.processors);
    let finished = false;
    void done.finally(() => {
      finished = true;
      flushing = false;
    });
    void withTimeout(done, timeoutMs).then(() => {
      // A collector that does not answer must not hold the exit past the timeout; exitCode kept.
      if (!finished) process.exit();
    });
  });

  process.once('exit', () => {
    // Last chance, synchronous only: end the spans of still-open (unref'd) sockets and start a
    // flush. The batch processor calls export() synchronously, so the JSONL file gets these spans;
    // network exporters get them only if their request completes, which it usually does not.
    started.endOpenSpans();
    for (const p of started.processors) void p.forceFlush().catch(() => undefined);
  });
}

function start(): void {
  const { settings, warnings } = parseRegisterEnv(process.env);

  // Make warnings visible without replacing a logger someone else installed. With OTEL_LOG_LEVEL
  // set, NodeSDK installs its own console logger; ours is removed before that to avoid the API's
  // "logger will be overwritten" noise (the same dance as auto-instrumentations-node/register).
  const ownLogger = !hasDiagLogger();
  if (ownLogger) diag.setLogger(new DiagConsoleLogger(), settings.logLevel ?? DiagLogLevel.WARN);
  for (const w of warnings) diag.warn(w);

  registerEsmHook();

  const exporting = createExportingProcessors(settings);
  if (exporting.length === 0) {
    diag.info(
      'sockscope: OTEL_TRACES_EXPORTER=none and no SOCKSCOPE_FILE: no spans would go anywhere, so tracing is not started',
    );
    return;
  }
  const coverage = new SocketCoverageProcessor();
  const processors: SpanProcessor[] = [coverage, ...exporting];
  // The official instrumentations first: constructing one enables its require hook, which must be
  // in place before anything (sockscope included) loads the core modules it patches.
  const instrumentations: Instrumentation[] = settings.autoInstrumentations ? loadAutoInstrumentations() : [];
  let sockets: SocketInstrumentation | undefined;
  try {
    sockets = new SocketInstrumentation({ exchanges: settings.exchanges });
    instrumentations.push(sockets);
  } catch (err) {
    // Keep the official instrumentations and the exporters running without sockscope's spans.
    diag.error('sockscope: SocketInstrumentation failed to start; continuing without it', err);
  }

  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  if (ownLogger && settings.logLevel !== undefined) diag.disable();
  const sdk = new NodeSDK({
    spanProcessors: processors,
    instrumentations,
    // sockscope is about traces: metrics and logs go out only when asked for explicitly, instead of
    // NodeSDK's default of an OTLP exporter for each that a trace-only collector would reject.
    ...(process.env.OTEL_METRICS_EXPORTER ? {} : { metricReaders: [] }),
    ...(process.env.OTEL_LOGS_EXPORTER ? {} : { logRecordProcessors: [] }),
  });
  sdk.start();
  installExitHooks(
    {
      processors,
      shutdown: () => sdk.shutdown(),
      endOpenSpans: () => {
        try {
          sockets?.disable();
        } catch (err) {
          diag.error('sockscope: could not end open socket spans', err);
        }
      },
    },
    settings.shutdownTimeoutMs,
  );
}

const g = globalThis as Record<symbol, unknown>;
if (!g[STARTED]) {
  // Loaded twice (say --require and --import together): start once.
  g[STARTED] = true;
  try {
    start();
  } catch (err) {
    diag.error('sockscope: could not start tracing; the app runs untraced', err);
  }
}

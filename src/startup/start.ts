/**
 * What `sockscope/register` starts: a tracer provider of the app's own SDK line with
 * `SocketCoverageProcessor` ahead of the exporting processors, the AsyncLocalStorage context
 * manager, the W3C propagators, `SocketInstrumentation`, and the official instrumentations when the
 * app has `@opentelemetry/auto-instrumentations-node`. Not `NodeSDK`: loading it costs about a
 * second and two thousand modules (metrics, logs, every exporter) before the app's first line.
 */
import {
  DiagConsoleLogger,
  DiagLogLevel,
  context,
  diag,
  metrics,
  propagation,
  trace,
} from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { SocketCoverageProcessor } from '../coverage/processor';
import { SocketInstrumentation } from '../tap/instrumentation';
import { parseRegisterEnv } from './env';
import { createExportingProcessors } from './exporters';
import { installExitHooks } from './exit';
import { parseMetricsEnv, startMeterProvider } from './metrics';
import { buildResource } from './resource';
import { requireSdk, resolveFromApp } from './resolve';

const AUTO_INSTRUMENTATIONS = '@opentelemetry/auto-instrumentations-node';

function hasDiagLogger(): boolean {
  // The API keeps its globals under this versioned symbol; a registered logger means the user (or
  // another preload) chose where diagnostics go, and we must not replace it.
  const globals = (globalThis as Record<symbol, { diag?: unknown } | undefined>)[
    Symbol.for('opentelemetry.js.api.1')
  ];
  return globals?.diag !== undefined;
}

/**
 * Where `--import` loaded us (an ES module imported the CommonJS register: no parent) or the entry
 * is an ES module, official instrumentations can only patch ESM imports of client libraries through
 * the import-in-the-middle loader hook, registered before the app's first import.
 */
function registerEsmHook(loadedByImport: boolean): void {
  const entry = process.argv[1] ?? '';
  if (!loadedByImport && !/\.m[jt]s$/.test(entry)) return;
  const nodeModule = require('node:module') as typeof import('node:module');
  if (typeof nodeModule.register !== 'function') {
    diag.warn('sockscope: this Node.js has no module.register(); ESM imports will not be instrumented');
    return;
  }
  const { pathToFileURL } = require('node:url') as typeof import('node:url');
  // Resolved from here: the hook of the @opentelemetry/instrumentation copy sockscope patches with.
  nodeModule.register('@opentelemetry/instrumentation/hook.mjs', pathToFileURL(__filename));
}

/** The official instrumentations, only when the app itself installed the metapackage. */
function loadAutoInstrumentations(): Instrumentation[] {
  const resolved = resolveFromApp(AUTO_INSTRUMENTATIONS);
  if (resolved === undefined) return [];
  try {
    const { getNodeAutoInstrumentations } = require(resolved) as {
      getNodeAutoInstrumentations(config: Record<string, { enabled?: boolean }>): Instrumentation[];
    };
    // sockscope's connection spans replace the official instrumentation-net. instrumentation-
    // runtime-node records only metrics, and its event-loop sampling keeps a process alive past its
    // natural exit: load it only when metrics are exported.
    const metrics = (process.env.OTEL_METRICS_EXPORTER ?? 'none').trim().toLowerCase();
    return getNodeAutoInstrumentations({
      '@opentelemetry/instrumentation-net': { enabled: false },
      '@opentelemetry/instrumentation-runtime-node': { enabled: metrics !== '' && metrics !== 'none' },
    });
  } catch (err) {
    diag.warn(`sockscope: could not load ${AUTO_INSTRUMENTATIONS} (${(err as Error)?.name})`);
    return [];
  }
}

/**
 * An app that preloads `sockscope/register` and then starts its own SDK gets nothing exported: the
 * API keeps the first tracer provider. Say so once, with what to do.
 */
function warnOnSecondProvider(ours: unknown): void {
  const api = trace as unknown as { setGlobalTracerProvider(p: unknown): boolean };
  const original = api.setGlobalTracerProvider;
  let warned = false;
  api.setGlobalTracerProvider = function (this: unknown, provider: unknown): boolean {
    const ok = original.call(this, provider);
    if (!ok && provider !== ours && !warned) {
      warned = true;
      diag.warn(
        'sockscope: the app started its own OpenTelemetry SDK after sockscope/register had started one, ' +
          "so the app's tracer provider and exporters get no spans. Either drop " +
          '`--require/--import sockscope/register` and add `new SocketInstrumentation()` and ' +
          "`new SocketCoverageProcessor()` to the app's own SDK setup (README, 'Use it in your app'), " +
          "or remove the app's SDK setup and configure register with OTEL_* variables.",
      );
    }
    return ok;
  };
}

export function start(loadedByImport: boolean): void {
  const { settings, warnings } = parseRegisterEnv(process.env);
  const metricsSettings = parseMetricsEnv(process.env, warnings);
  // Make warnings visible without replacing a logger someone else installed.
  if (!hasDiagLogger()) diag.setLogger(new DiagConsoleLogger(), settings.logLevel ?? DiagLogLevel.WARN);
  for (const w of warnings) diag.warn(w);

  const sdk = requireSdk<typeof import('@opentelemetry/sdk-trace')>('@opentelemetry/sdk-trace');
  const exporting = createExportingProcessors(settings, sdk);
  const resource = buildResource(settings.resourceDetectors);
  const meterProvider = startMeterProvider(metricsSettings, resource);
  if (exporting.length === 0 && meterProvider === undefined) {
    diag.info(
      'sockscope: OTEL_TRACES_EXPORTER=none, no SOCKSCOPE_FILE and no OTEL_METRICS_EXPORTER: nothing would go anywhere, so nothing is started',
    );
    return;
  }
  registerEsmHook(loadedByImport);
  // Metrics only: the upstream spans are still made (the coverage processor needs them to decide
  // sockscope.covered), but sockscope makes no span of its own that nobody would export.
  const spansWanted = exporting.length > 0;

  const processors: SpanProcessor[] = [new SocketCoverageProcessor(), ...exporting];
  const provider = new sdk.TracerProvider({ resource, spanProcessors: processors });
  if (meterProvider !== undefined) metrics.setGlobalMeterProvider(meterProvider);
  const { AsyncLocalStorageContextManager } = requireSdk<typeof import('@opentelemetry/context-async-hooks')>(
    '@opentelemetry/context-async-hooks',
  );
  const core = requireSdk<typeof import('@opentelemetry/core')>('@opentelemetry/core');
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new core.CompositePropagator({
      propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()],
    }),
  );
  trace.setGlobalTracerProvider(provider);
  warnOnSecondProvider(provider);

  // The official instrumentations first: constructing one enables its require hook, which must be
  // in place before anything (sockscope included) loads the core modules it patches.
  const instrumentations = settings.autoInstrumentations ? loadAutoInstrumentations() : [];
  let sockets: SocketInstrumentation | undefined;
  try {
    sockets = new SocketInstrumentation(
      spansWanted
        ? { exchanges: settings.exchanges, metrics: metricsSettings.sockscopeMetrics }
        : { exchanges: 'none', connections: false, metrics: metricsSettings.sockscopeMetrics },
    );
    instrumentations.push(sockets);
  } catch (err) {
    // Keep the official instrumentations and the exporters running without sockscope's spans.
    diag.error(
      `sockscope: SocketInstrumentation failed to start (${(err as Error)?.name}); continuing without it`,
    );
  }
  const { registerInstrumentations } = requireSdk<typeof import('@opentelemetry/instrumentation')>(
    '@opentelemetry/instrumentation',
  );
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations,
    ...(meterProvider !== undefined ? { meterProvider } : {}),
  });

  installExitHooks(
    {
      processors,
      shutdown: () => Promise.all([provider.shutdown(), meterProvider?.shutdown()]).then(() => undefined),
      endOpenSpans: () => {
        try {
          sockets?.disable();
        } catch {
          diag.error('sockscope: could not end open socket spans');
        }
      },
    },
    settings.shutdownTimeoutMs,
    settings.flushBeforeExit,
  );
}

/**
 * One tracer provider per test process, with an in-memory exporter, the coverage processor and
 * sockscope enabled. Tests reconfigure the instrumentation with `setConfig` and `reset()` between cases.
 */
import { context, propagation, trace, type Span } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace';
import { SocketCoverageProcessor } from '../../src/coverage/processor';
import { SocketInstrumentation } from '../../src/tap/instrumentation';
import type { SocketInstrumentationConfig } from '../../src/types';

export const exporter = new InMemorySpanExporter();
export const provider = new TracerProvider({
  spanProcessors: [new SocketCoverageProcessor(), new SimpleSpanProcessor({ exporter })],
});
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(provider);
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

export const instrumentation = new SocketInstrumentation({ exchangeIdleMs: 100 });
instrumentation.setTracerProvider(provider);

export function configure(config: SocketInstrumentationConfig = {}): void {
  instrumentation.setConfig({ exchangeIdleMs: 100, ...config });
}

export function reset(): void {
  exporter.reset();
}

export const tracer = trace.getTracer('test-app');

/** Runs `fn` inside a new active span and returns the span with fn's result. */
export async function inSpan<T>(name: string, fn: (span: Span) => Promise<T> | T): Promise<T> {
  return tracer.startActiveSpan(name, async (span) => {
    try {
      return await fn(span);
    } finally {
      span.end();
    }
  });
}

export function spans(): ReadableSpan[] {
  return exporter.getFinishedSpans();
}

export function sockscopeSpans(kind?: 'connection' | 'exchange'): ReadableSpan[] {
  return spans().filter(
    (s) =>
      s.instrumentationScope.name === 'sockscope' &&
      (kind === undefined || s.attributes['sockscope.kind'] === kind),
  );
}

export function parentId(s: ReadableSpan): string | undefined {
  return s.parentSpanContext?.spanId;
}

/** Waits until `pred` holds (polling), failing after `ms`. */
export async function waitFor(pred: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

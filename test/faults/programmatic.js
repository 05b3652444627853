/* global require, __dirname */
// The programmatic way to run sockscope, preloaded with --require: the app's own provider with
// SocketCoverageProcessor and a JSONL file, and SocketInstrumentation registered on it.
const path = require('node:path');
const { context, trace } = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { BatchSpanProcessor, TracerProvider } = require('@opentelemetry/sdk-trace');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const sockscope = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));

const provider = new TracerProvider({
  spanProcessors: [
    new sockscope.SocketCoverageProcessor(),
    new BatchSpanProcessor({
      exporter: new sockscope.JsonlFileSpanExporter({ path: process.env.FAULT_SPANS }),
    }),
  ],
});
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(provider);
registerInstrumentations({
  tracerProvider: provider,
  instrumentations: [new sockscope.SocketInstrumentation()],
});
process.once('exit', () => void provider.forceFlush());

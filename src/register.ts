/**
 * Zero-code start: `node --require sockscope/register app.js` or
 * `node --import sockscope/register app.mjs`. What it starts is in startup/start.ts; the settings
 * are the standard `OTEL_*` variables plus `SOCKSCOPE_*` (docs/exporters.md). Nothing here may throw
 * into the app: a failure is reported through `diag` and the app runs untraced.
 */
import { diag } from '@opentelemetry/api';
import { start } from './startup/start';

const STARTED = Symbol.for('sockscope.register.started');
const g = globalThis as Record<symbol, unknown>;
if (!g[STARTED]) {
  // Loaded twice (say --require and --import together): start once.
  g[STARTED] = true;
  try {
    // An ES module importing this CommonJS file leaves it without a parent module.
    start(module.parent == null);
  } catch (err) {
    diag.error(`sockscope: could not start tracing (${(err as Error)?.name}); the app runs untraced`);
  }
}

import { sep } from 'node:path';

const APP = '(app)';
// Frames of sockscope itself (compiled or source) are skipped; its own node_modules are not ours.
const selfRoot = __dirname.slice(0, __dirname.lastIndexOf(sep) + 1);
const selfDirs = [`${selfRoot}dist${sep}`, `${selfRoot}src${sep}`];
const NM = `${sep}node_modules${sep}`;
/** Packages that only wrap other code: a frame of theirs names no caller. */
const WRAPPERS = new Set([
  'shimmer',
  'require-in-the-middle',
  'import-in-the-middle',
  'dd-trace',
  'newrelic',
]);

function packageOf(file: string): string | undefined {
  const i = file.lastIndexOf(NM);
  if (i < 0) return undefined;
  const rest = file.slice(i + NM.length);
  const parts = rest.split(sep);
  if (parts[0]?.startsWith('@') && parts.length > 1) return `${parts[0]}/${parts[1]}`;
  return parts[0];
}

/**
 * The npm package whose code opened a socket: the innermost stack frame outside Node's internals,
 * sockscope and other instrumentations' wrappers, read from a short structured stack capture at
 * connect (once per socket, never per exchange). `fetch` runs in Node's bundled undici
 * (`node:internal/deps/undici`), reported as `undici`.
 */
export function callerPackage(): string {
  const limit = Error.stackTraceLimit;
  const prepare = Error.prepareStackTrace;
  let frames: NodeJS.CallSite[] | undefined;
  try {
    // Structured frames: V8 then never formats the stack into a string.
    Error.stackTraceLimit = 24;
    Error.prepareStackTrace = (_e, callSites) => callSites;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, callerPackage);
    frames = holder.stack as NodeJS.CallSite[] | undefined;
  } finally {
    Error.stackTraceLimit = limit;
    Error.prepareStackTrace = prepare;
  }
  if (!Array.isArray(frames)) return APP;
  for (const frame of frames) {
    let file = frame.getFileName?.() ?? undefined;
    if (file === undefined || file === null) continue;
    if (file.includes('internal/deps/undici')) return 'undici';
    if (file.startsWith('file://')) file = file.slice(7);
    if (file.startsWith('node:')) continue;
    if (selfDirs.some((d) => file.startsWith(d))) continue;
    const pkg = packageOf(file);
    // Other instrumentations' wrappers (instrumentation-http around http.get) are not the caller.
    if (pkg !== undefined && (pkg.startsWith('@opentelemetry/') || WRAPPERS.has(pkg))) continue;
    return pkg ?? APP;
  }
  return APP;
}

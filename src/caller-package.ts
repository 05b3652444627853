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
 * The npm package whose code opened a socket: the innermost stack frame outside Node's internals
 * and sockscope, read from a short stack capture at connect (once per socket, never per exchange).
 * `fetch` runs in Node's bundled undici (`node:internal/deps/undici`), reported as `undici`.
 */
export function callerPackage(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, callerPackage);
  Error.stackTraceLimit = limit;
  const stack = holder.stack ?? '';
  let pos = stack.indexOf('\n');
  while (pos >= 0) {
    const next = stack.indexOf('\n', pos + 1);
    const line = stack.slice(pos + 1, next < 0 ? undefined : next);
    pos = next;
    if (line.includes('internal/deps/undici')) return 'undici';
    const file = frameFile(line);
    if (file === undefined || file.startsWith('node:')) continue;
    if (selfDirs.some((d) => file.startsWith(d))) continue;
    const pkg = packageOf(file);
    // Other instrumentations' wrappers (instrumentation-http around http.get) are not the caller.
    if (pkg !== undefined && (pkg.startsWith('@opentelemetry/') || WRAPPERS.has(pkg))) continue;
    return pkg ?? APP;
  }
  return APP;
}

function frameFile(line: string): string | undefined {
  // "    at fn (/path/file.js:1:2)" or "    at /path/file.js:1:2" or "at async fn (file:///x.mjs:1:2)"
  const open = line.lastIndexOf('(');
  let loc =
    open >= 0 ? line.slice(open + 1, line.lastIndexOf(')')) : line.trim().replace(/^at (async )?/, '');
  if (loc.startsWith('file://')) loc = loc.slice(7);
  const m = /:\d+:\d+$/.exec(loc) ?? /:\d+$/.exec(loc);
  return m ? loc.slice(0, m.index) : loc || undefined;
}

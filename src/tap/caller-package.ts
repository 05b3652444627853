import { resolve, sep } from 'node:path';

const APP = '(app)';
// Frames of sockscope itself (compiled or source) are skipped; its own node_modules are not ours.
// This file sits in {src,dist}/tap/: the package root is two levels up.
const selfRoot = resolve(__dirname, '..', '..') + sep;
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
/**
 * Frames captured first. Most sockets are opened a few frames below the calling library's code
 * (sockscope's hook, its wrapper, `net.connect`, the library), and the capture costs by the frame;
 * only when these frames name no caller is the stack captured again, deeper.
 */
const SHALLOW = 8;
const DEEP = 24;
/** Not a caller: a frame of Node, sockscope or a wrapper package. */
const SKIP = '';
/** File name → its verdict: a package name, APP, or SKIP. Files repeat across connections. */
const verdicts = new Map<string, string>();
const MAX_VERDICTS = 2048;

function packageOf(file: string): string | undefined {
  const i = file.lastIndexOf(NM);
  if (i < 0) return undefined;
  const rest = file.slice(i + NM.length);
  const parts = rest.split(sep);
  if (parts[0]?.startsWith('@') && parts.length > 1) return `${parts[0]}/${parts[1]}`;
  return parts[0];
}

function verdictOf(fileName: string): string {
  let v = verdicts.get(fileName);
  if (v !== undefined) return v;
  const file = fileName.startsWith('file://') ? fileName.slice(7) : fileName;
  if (file.includes('internal/deps/undici')) v = 'undici';
  else if (file.startsWith('node:') || selfDirs.some((d) => file.startsWith(d))) v = SKIP;
  else {
    const pkg = packageOf(file);
    // Other instrumentations' wrappers (instrumentation-http around http.get) are not the caller.
    v = pkg !== undefined && (pkg.startsWith('@opentelemetry/') || WRAPPERS.has(pkg)) ? SKIP : (pkg ?? APP);
  }
  if (verdicts.size < MAX_VERDICTS) verdicts.set(fileName, v);
  return v;
}

function capture(limit: number): NodeJS.CallSite[] | undefined {
  const saved = Error.stackTraceLimit;
  const prepare = Error.prepareStackTrace;
  try {
    // Structured frames: V8 then never formats the stack into a string.
    Error.stackTraceLimit = limit;
    Error.prepareStackTrace = (_e, callSites) => callSites;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, callerPackage);
    return Array.isArray(holder.stack) ? (holder.stack as NodeJS.CallSite[]) : undefined;
  } finally {
    Error.stackTraceLimit = saved;
    Error.prepareStackTrace = prepare;
  }
}

/** The caller named by the first frames that name one, or undefined when none does. */
function callerIn(frames: NodeJS.CallSite[]): string | undefined {
  for (const frame of frames) {
    const file = frame.getFileName?.();
    if (typeof file !== 'string') continue;
    const v = verdictOf(file);
    if (v !== SKIP) return v;
  }
  return undefined;
}

/**
 * The npm package whose code opened a socket: the innermost stack frame outside Node's internals,
 * sockscope and other instrumentations' wrappers, read from a short structured stack capture at
 * connect (once per socket, never per exchange). `fetch` runs in Node's bundled undici
 * (`node:internal/deps/undici`), reported as `undici`.
 */
export function callerPackage(): string {
  const shallow = capture(SHALLOW);
  if (shallow === undefined) return APP;
  const found = callerIn(shallow);
  if (found !== undefined || shallow.length < SHALLOW) return found ?? APP;
  return callerIn(capture(DEEP)?.slice(SHALLOW) ?? []) ?? APP;
}

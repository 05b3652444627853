import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { readFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';

/** The package that opened a socket: its name and, when known, its installed version. */
export interface Caller {
  /** `sockscope.caller.package`: the package.json `name` (an alias install reports the real package). */
  readonly name: string;
  /** `sockscope.caller.package.version`: the package.json `version`, when it could be read. */
  readonly version: string | undefined;
}

const APP: Caller = Object.freeze({ name: '(app)', version: undefined });
// Node's bundled undici (what `fetch` runs on) has no package.json; Node reports its version.
const BUNDLED_UNDICI: Caller = Object.freeze({ name: 'undici', version: process.versions.undici });
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
 * (sockscope's hook, its wrapper, `net.connect` or `tls.connect`, the library: the fourth frame;
 * `socket.connect()` called by the library itself: the third), and the capture costs by the frame
 * walked, about 5,000 instructions each (V8 summarises every optimised frame, inlined ones too);
 * only when these frames name no caller is the stack captured again, deeper. The capture with 8
 * frames cost 73,000 instructions per connection, with 4 54,000 (callgrind, echo-churn,
 * docs/performance.md).
 */
const SHALLOW = 4;
const DEEP = 24;
/** Not a caller: a frame of Node, sockscope or a wrapper package. */
const SKIP: Caller = Object.freeze({ name: '', version: undefined });
/** File name → its verdict: a package, APP, or SKIP. Files repeat across connections. */
const verdicts = new Map<string, Caller>();
const MAX_VERDICTS = 2048;
/**
 * Package root → its caller, read from its package.json once: many files (and every connection)
 * share one root, so the file is read once per package, never per socket.
 */
const packages = new Map<string, Caller>();
const MAX_PACKAGES = 512;

/** The package root (`…/node_modules/name` or `…/node_modules/@scope/name`) and its folder name. */
function packageRootOf(file: string): { root: string; dirName: string } | undefined {
  const i = file.lastIndexOf(NM);
  if (i < 0) return undefined;
  const start = i + NM.length;
  let end = file.indexOf(sep, start);
  if (end >= 0 && file[start] === '@') end = file.indexOf(sep, end + 1);
  // A file directly in node_modules (`node_modules/x.js`): named by itself, no package.json above.
  if (end < 0) end = file.length;
  const root = file.slice(0, end);
  return { root, dirName: file.slice(start, end).split(sep).join('/') };
}

/**
 * The package at `root`, named by its package.json: under an npm alias (`"x": "npm:mysql2@1.4.1"`)
 * the folder is `x` but the code is mysql2, which is what users and the suggestion map know.
 * The folder name stands in when the file cannot be read or names nothing.
 */
function packageAt(root: string, dirName: string): Caller {
  let c = packages.get(root);
  if (c !== undefined) return c;
  // Past the cap, no file is read on the connect path: the folder name, no version.
  if (packages.size >= MAX_PACKAGES) return { name: dirName, version: undefined };
  let name = dirName;
  let version: string | undefined;
  try {
    // Suppressed: an fs instrumentation must not trace sockscope's own read inside the user's span.
    const text = context.with(suppressTracing(context.active()), () =>
      readFileSync(join(root, 'package.json'), 'utf8'),
    );
    const json = JSON.parse(text) as { name?: unknown; version?: unknown };
    if (typeof json.name === 'string' && json.name !== '') name = json.name;
    if (typeof json.version === 'string' && json.version !== '') version = json.version;
  } catch {
    // No readable package.json: the folder name, no version.
  }
  c = Object.freeze({ name, version });
  packages.set(root, c);
  return c;
}

function verdictOf(fileName: string): Caller {
  let v = verdicts.get(fileName);
  if (v !== undefined) return v;
  const file = fileName.startsWith('file://') ? fileName.slice(7) : fileName;
  if (file.includes('internal/deps/undici')) v = BUNDLED_UNDICI;
  else if (file.startsWith('node:') || selfDirs.some((d) => file.startsWith(d))) v = SKIP;
  else {
    const at = packageRootOf(file);
    // Other instrumentations' wrappers (instrumentation-http around http.get) are not the caller.
    if (at === undefined) v = APP;
    else if (at.dirName.startsWith('@opentelemetry/') || WRAPPERS.has(at.dirName)) v = SKIP;
    else v = packageAt(at.root, at.dirName);
  }
  if (verdicts.size < MAX_VERDICTS) verdicts.set(fileName, v);
  return v;
}

/** Structured frames: V8 then never formats the stack into a string. One function, not one per capture. */
const structured = (_e: Error, callSites: NodeJS.CallSite[]): NodeJS.CallSite[] => callSites;

function capture(limit: number): NodeJS.CallSite[] | undefined {
  const saved = Error.stackTraceLimit;
  const prepare = Error.prepareStackTrace;
  try {
    Error.stackTraceLimit = limit;
    Error.prepareStackTrace = structured;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, callerOf);
    return Array.isArray(holder.stack) ? (holder.stack as NodeJS.CallSite[]) : undefined;
  } finally {
    Error.stackTraceLimit = saved;
    Error.prepareStackTrace = prepare;
  }
}

/** The caller named by the first frames that name one, or undefined when none does. */
function callerIn(frames: NodeJS.CallSite[]): Caller | undefined {
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
 * connect (once per socket, never per exchange), with its installed version (its package.json,
 * read once per package). `fetch` runs in Node's bundled undici (`node:internal/deps/undici`),
 * reported as `undici` with Node's `process.versions.undici`.
 */
export function callerOf(): Caller {
  const shallow = capture(SHALLOW);
  if (shallow === undefined) return APP;
  const found = callerIn(shallow);
  if (found !== undefined || shallow.length < SHALLOW) return found ?? APP;
  return callerIn(capture(DEEP)?.slice(SHALLOW) ?? []) ?? APP;
}

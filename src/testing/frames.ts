/**
 * The user's code location that issued an exchange, from the stack at its first write. Too costly
 * for production (a stack per exchange); fine in tests, which is the only place it runs.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CodeLocation {
  /** Absolute path of the file. */
  file: string;
  line: number;
  column: number;
  /** The function's name as V8 reports it, when it has one. */
  function: string | undefined;
}

/**
 * sockscope's own code: src/ when run from source, dist/ when built, and src/ again when a runner
 * (Vitest, Jest) maps dist/ frames back through the shipped source maps. Never the user's.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const OWN_DIRS = [path.join(ROOT, 'src'), path.join(ROOT, 'dist')].map((d) => d + path.sep);
const FRAME = /^\s*at (?:(?:async )?(.*?) \()?(.*?):(\d+):(\d+)\)?$/;
/** Deep enough to get from a client library's write back to the caller. */
const STACK_DEPTH = 64;

function isUserFile(file: string): boolean {
  if (file.startsWith('node:') || !path.isAbsolute(file)) return false;
  if (file.includes(`${path.sep}node_modules${path.sep}`)) return false;
  return !OWN_DIRS.some((d) => file.startsWith(d));
}

/**
 * The current stack, captured but not yet formatted: V8 formats `stack` on first read, which is
 * the costly part (more so with source maps), so only the locations someone reads are formatted.
 */
export function captureStack(): Error {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = STACK_DEPTH;
  const err = new Error();
  Error.stackTraceLimit = limit;
  return err;
}

/** The innermost frame of a captured stack in user code, or undefined when none is on it. */
export function userLocation(stack: Error): CodeLocation | undefined {
  const text = stack.stack;
  return text === undefined ? undefined : firstUserFrame(text);
}

/** The first frame of a V8 stack text in user code. */
export function firstUserFrame(stack: string): CodeLocation | undefined {
  for (const line of stack.split('\n')) {
    const m = FRAME.exec(line);
    if (m === null) continue;
    let file = m[2];
    if (file.startsWith('file://')) {
      try {
        file = fileURLToPath(file);
      } catch {
        continue;
      }
    }
    if (!isUserFile(file)) continue;
    const fn = m[1] !== undefined && m[1] !== '' && m[1] !== '<anonymous>' ? m[1] : undefined;
    return { file, line: Number(m[3]), column: Number(m[4]), function: fn };
  }
  return undefined;
}

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { decodeJsonRequest, type NormalSpan } from '../export/helpers/otlp-decode';

export const REPO = path.resolve(__dirname, '..', '..');
export const FIXTURES = path.join(__dirname, 'fixtures');
export const REGISTER_TS = path.join(REPO, 'src', 'register.ts');

/** How the child loads sockscope/register: from source through tsx, or the built package. */
export const LOADERS = {
  requireSource: ['--require', 'tsx/cjs', '--require', REGISTER_TS],
  importSource: ['--import', 'tsx', '--import', REGISTER_TS],
  // The package's own name resolves through package.json "exports" from inside the repo.
  requireBuilt: ['--require', 'sockscope/register'],
  importBuilt: ['--import', 'sockscope/register'],
} as const;

export const distBuilt = (): boolean =>
  fs.existsSync(path.join(REPO, 'dist', 'register.js')) &&
  fs.existsSync(path.join(REPO, 'dist', 'register.mjs')) &&
  fs.existsSync(path.join(REPO, 'dist', 'tap', 'instrumentation.js'));

/** The parent's environment without any OTEL_* / SOCKSCOPE_* that would change the child's setup. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(OTEL_|SOCKSCOPE_)/.test(k) && k !== 'NODE_OPTIONS') env[k] = v;
  }
  return { ...env, ...extra };
}

export interface Run {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout contains `text`. */
  waitForOutput(text: string, timeoutMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function runApp(loader: readonly string[], app: string, env: Record<string, string>): Run {
  const child = spawn(process.execPath, [...loader, path.join(FIXTURES, app)], {
    cwd: REPO,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const listeners: (() => void)[] = [];
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    for (const l of [...listeners]) l();
  });
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  void exited.then(() => clearTimeout(timer));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForOutput(text, timeoutMs = 30_000) {
      return new Promise<void>((resolve, reject) => {
        if (out.includes(text)) return resolve();
        const t = setTimeout(
          () =>
            reject(new Error(`no "${text}" on stdout within ${timeoutMs} ms; stdout=${out} stderr=${err}`)),
          timeoutMs,
        );
        const check = (): void => {
          if (!out.includes(text)) return;
          clearTimeout(t);
          listeners.splice(listeners.indexOf(check), 1);
          resolve();
        };
        listeners.push(check);
        void exited.then(() => {
          if (!out.includes(text)) {
            clearTimeout(t);
            reject(new Error(`exited without "${text}" on stdout; stdout=${out} stderr=${err}`));
          }
        });
      });
    },
  };
}

/** All spans of a JSONL trace file, one OTLP/JSON request per line. */
export function readJsonl(file: string): NormalSpan[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .flatMap((l) => decodeJsonRequest(l));
}

/** True when something accepts TCP connections at host:port within a short time. */
export function portAnswers(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

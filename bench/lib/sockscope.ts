/**
 * Which sockscope code is measured. A full run measures what ships: `src/` compiled by tsc with the
 * package's own tsconfig.build.json (as `npm run build` does), into a cache folder so that `dist/`
 * is left alone. Running `src/` through tsx instead (`--source`, and the smoke run) is fine for
 * checking that the harness works but not for timing: esbuild's CommonJS interop turns every
 * imported binding into a getter call (`__copyProps`), which on per-byte parser code costs more
 * than the code itself.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type * as Processor from '../../src/coverage/processor';
import type * as Instrumentation from '../../src/tap/instrumentation';

export interface SockscopeModules {
  SocketInstrumentation: typeof Instrumentation.SocketInstrumentation;
  SocketCoverageProcessor: typeof Processor.SocketCoverageProcessor;
  /** `build (tsc)` or `source (tsx)`, with the folder loaded. */
  origin: string;
  /** tsc's complaints, when the working tree did not type-check (the JS is emitted anyway). */
  buildErrors: string;
}

const ROOT = join(__dirname, '..', '..');
// Under node_modules so that the compiled files resolve the repo's dependencies, and ending in
// `dist` so that sockscope recognises its own stack frames there (caller-package.ts).
export const BUILD_DIR = join(ROOT, 'node_modules', '.cache', 'sockscope-bench', 'dist');

let loaded: SockscopeModules | undefined;

/**
 * `prebuilt` loads what an earlier `build` compiled into BUILD_DIR without compiling again (the
 * callgrind children: the parent builds once).
 */
export function loadSockscope(from: 'build' | 'source' | 'prebuilt'): SockscopeModules {
  if (loaded !== undefined) return loaded;
  // tsx turns on source-mapped stack traces for the whole process; a plain `node app.js` has them
  // off. sockscope reads a stack once per connection (caller package), so leaving them on would bill
  // the harness's TypeScript set-up to sockscope: measure it as it runs in production.
  process.setSourceMapsEnabled(false);
  if (from === 'source') {
    loaded = {
      SocketInstrumentation: (require('../../src/tap/instrumentation') as typeof Instrumentation)
        .SocketInstrumentation,
      SocketCoverageProcessor: (require('../../src/coverage/processor') as typeof Processor)
        .SocketCoverageProcessor,
      origin: 'source (src/ through tsx; not representative for timing)',
      buildErrors: '',
    };
    return loaded;
  }
  let r: { status: number | null; stdout: string; stderr: string } = { status: 0, stdout: '', stderr: '' };
  if (from === 'build') {
    rmSync(BUILD_DIR, { recursive: true, force: true });
    const tsc = require.resolve('typescript/bin/tsc');
    r = spawnSync(
      process.execPath,
      [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', BUILD_DIR, '--declaration', 'false'],
      { cwd: ROOT, encoding: 'utf8' },
    );
  }
  // The package's entry point, as an app loads it (its internal layout may move).
  const entry = join(BUILD_DIR, 'index.js');
  if (!existsSync(entry)) throw new Error(`compiling src/ failed:\n${r.stdout}${r.stderr}`);
  const index = require(entry) as typeof Instrumentation & typeof Processor;
  loaded = {
    SocketInstrumentation: index.SocketInstrumentation,
    SocketCoverageProcessor: index.SocketCoverageProcessor,
    origin: `build (src/ compiled by tsc -p tsconfig.build.json into ${BUILD_DIR.slice(ROOT.length + 1)})`,
    buildErrors: r.status === 0 ? '' : `${r.stdout}${r.stderr}`.trim(),
  };
  return loaded;
}

export function sockscopeModules(): SockscopeModules {
  if (loaded === undefined) throw new Error('loadSockscope() first');
  return loaded;
}

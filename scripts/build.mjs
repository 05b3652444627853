// Compiles src/ to CommonJS + .d.ts in dist/, then adds the ESM entry for `node --import sockscope/register`.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
  stdio: 'inherit',
});
// `--import` needs an ES module; it loads the CommonJS register, which also installs the ESM loader hook.
writeFileSync('dist/register.mjs', "import './register.js';\n");
if (existsSync('dist/cli/main.js')) chmodSync('dist/cli/main.js', 0o755);

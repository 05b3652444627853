/**
 * The demo's packages are devDependencies of sockscope: present in a clone (`npm ci`), absent when
 * sockscope is installed as a dependency. They are resolved lazily so the rest of the CLI never
 * needs them, and checked up front so a missing one gives one clear line instead of a stack trace.
 */

/** Every package the demo loads that is not a runtime dependency of sockscope. */
export const DEMO_PACKAGES: readonly string[] = [
  '@opentelemetry/sdk-trace',
  '@opentelemetry/context-async-hooks',
  '@opentelemetry/instrumentation-pg',
  '@opentelemetry/instrumentation-undici',
  '@opentelemetry/instrumentation-http',
  'pg',
  'mqtt',
  'aedes',
  '@electric-sql/pglite',
  '@electric-sql/pglite-socket',
];

function resolvable(id: string): boolean {
  try {
    require.resolve(id);
    return true;
  } catch {
    return false;
  }
}

/** The demo packages that cannot be resolved from here (and so from the app using sockscope). */
export function missingDemoPackages(): string[] {
  return DEMO_PACKAGES.filter((id) => !resolvable(id));
}

/**
 * `require`, falling back to a real `import()` for ES-module-only packages (`aedes`) on Node
 * versions without require(esm). TypeScript turns `import()` into `require()` in CommonJS output,
 * so the fallback is built at run time to stay an `import()`.
 */
export async function load<T>(id: string): Promise<T> {
  try {
    return require(id) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_REQUIRE_ESM') throw err;
    const dynamicImport = new Function('id', 'return import(id)') as (id: string) => Promise<T>;
    return dynamicImport(id);
  }
}

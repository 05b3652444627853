/**
 * Loads OpenTelemetry packages the way the app would, so that `sockscope/register` runs on the SDK
 * line the app installed (2.x or 3.x) and never on a second copy. The app's folders come first: the
 * entry script's and the working directory. A package that only sockscope's own location can find
 * is still the app's in an install (sockscope sits in the app's node_modules, and its OpenTelemetry
 * packages are peers), so that is the fallback for the SDK pieces; it is not used for optional
 * extras such as the auto-instrumentations, which a checkout has as devDependencies the app lacks.
 */
import * as path from 'node:path';

function appBases(): string[] {
  const bases: string[] = [];
  const entry = process.argv[1];
  if (entry) bases.push(path.dirname(path.resolve(entry)));
  bases.push(process.cwd());
  return bases;
}

/** The path of `id` as the app resolves it, or undefined when the app does not have it. */
export function resolveFromApp(id: string): string | undefined {
  for (const base of appBases()) {
    try {
      return require.resolve(id, { paths: [base] });
    } catch {
      // not found from there; try the next base
    }
  }
  return undefined;
}

/** `require` of an SDK package: the app's copy, else the one sockscope's location finds. */
export function requireSdk<T>(id: string): T {
  const resolved = resolveFromApp(id);
  return require(resolved ?? id) as T;
}

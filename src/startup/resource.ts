/**
 * The resource `sockscope/register` gives its spans. Only detectors that answer synchronously: the
 * SDK's host detector reads the machine id asynchronously, and while that read is pending the batch
 * processor holds every export (so a process that exits early lost all its spans) and the pending
 * read keeps the event loop alive past the app's natural exit.
 */
import * as os from 'node:os';
import type { Resource } from '@opentelemetry/resources';
import { requireSdk } from './resolve';

type Resources = typeof import('@opentelemetry/resources');

/** `OTEL_NODE_RESOURCE_DETECTORS` values sockscope can honour without blocking. */
export const SYNC_DETECTORS = ['env', 'host', 'os', 'process', 'serviceinstance'] as const;
export type DetectorName = (typeof SYNC_DETECTORS)[number];

export function buildResource(detectors: readonly DetectorName[]): Resource {
  const r = requireSdk<Resources>('@opentelemetry/resources');
  const chosen = [];
  for (const name of detectors) {
    if (name === 'env') chosen.push(r.envDetector);
    else if (name === 'process') chosen.push(r.processDetector);
    else if (name === 'os') chosen.push(r.osDetector);
    else if (name === 'serviceinstance' && 'serviceInstanceIdDetector' in r)
      chosen.push((r as unknown as Record<string, Resources['envDetector']>).serviceInstanceIdDetector);
  }
  let resource = r.defaultResource();
  if (detectors.includes('host')) {
    // host.name and host.arch, as the host detector gives them, minus its asynchronous host.id.
    resource = resource.merge(
      r.resourceFromAttributes({ 'host.name': os.hostname(), 'host.arch': hostArch(os.arch()) }),
    );
  }
  // Later detectors win a merge: env last, so OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME
  // override what the others detect (a service.instance.id given there is kept).
  const envLast = chosen.filter((d) => d !== r.envDetector);
  if (chosen.includes(r.envDetector)) envLast.push(r.envDetector);
  return resource.merge(r.detectResources({ detectors: envLast }));
}

/** The semantic conventions' `host.arch` values for Node's `os.arch()`. */
function hostArch(arch: string): string {
  const known: Record<string, string> = { arm: 'arm32', ppc: 'ppc32', x64: 'amd64' };
  return known[arch] ?? arch;
}

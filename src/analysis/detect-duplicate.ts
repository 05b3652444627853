/**
 * duplicate: the same request bytes (`sockscope.request.hash`) read twice from the same server
 * within one entry span, with nothing between that could change the answer.
 */
import type { Call } from './trace-model';

/**
 * Duplicates: reads with the same request bytes to the same server, in one entry span's calls.
 * A write to that server in between, or an error on the earlier call (a retry), makes the later
 * one legitimate, so such a pair is split.
 */
export function duplicateGroups(calls: Call[]): Call[][] {
  const groups = new Map<string, Call[][]>();
  const lastWrite = new Map<string, number>(); // server -> start of the latest write seen
  for (const c of calls) {
    if (c.klass === 'write' || c.klass === 'transaction') lastWrite.set(c.server, c.startMs);
    if (c.klass !== 'read' || c.hash === undefined) continue;
    const key = `${c.server}\u0000${c.hash}`;
    let runs = groups.get(key);
    if (runs === undefined) groups.set(key, (runs = [[]]));
    const run = runs[runs.length - 1];
    const prev = run[run.length - 1];
    if (prev !== undefined && (prev.error || (lastWrite.get(c.server) ?? -Infinity) > prev.startMs)) {
      runs.push([c]);
    } else {
      run.push(c);
    }
  }
  return [...groups.values()].flat().filter((g) => g.length >= 2);
}

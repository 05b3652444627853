/**
 * PromQL instant queries against a Prometheus server (`GET /api/v1/query`), for `gaps --prometheus`
 * and `top --prometheus`. Every way it can go wrong ends in one `PrometheusError` whose message is
 * one line naming the server: down, slow (timeout), an HTTP error, not Prometheus's JSON, or an
 * answer too large (read as a stream and cut at MAX_BODY_BYTES, so memory stays bounded).
 */
import { apiUrl } from './inputs';

/** Largest answer read, in bytes: a query that returns more is refused, never buffered. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;
/** Most series one query may return. */
export const MAX_SERIES = 50_000;
export const DEFAULT_TIMEOUT_MS = 15_000;

export class PrometheusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrometheusError';
  }
}

/** One series of an instant vector: its labels and its value. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

function oneLine(s: string, max = 160): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max)}...` : t;
}

async function readBounded(res: Response, where: string, signal: AbortSignal): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) {
    await res.body?.cancel().catch(() => undefined);
    throw new PrometheusError(
      `${where}: the answer is ${declared} bytes, more than the ${MAX_BODY_BYTES} read`,
    );
  }
  const reader = res.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    if (signal.aborted) throw new PrometheusError(`${where}: the answer did not finish in time`);
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new PrometheusError(
        `${where}: the answer is larger than ${MAX_BODY_BYTES} bytes; narrow it with --service or --selector`,
      );
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs one instant query; resolves to its samples. */
export async function queryPrometheus(
  base: string,
  query: string,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<Sample[]> {
  let url: URL;
  try {
    url = apiUrl(base, '/api/v1/query', { query });
  } catch {
    throw new PrometheusError(
      `--prometheus ${JSON.stringify(base)} is not a URL (e.g. http://localhost:9090)`,
    );
  }
  const where = `Prometheus at ${url.origin}${url.pathname.replace(/\/api\/v1\/query$/, '')}`;
  const signal = AbortSignal.timeout(timeoutMs);
  let text: string;
  let res: Response;
  try {
    res = await fetch(url, { signal, headers: { accept: 'application/json' } });
    text = await readBounded(res, where, signal);
  } catch (err) {
    if (err instanceof PrometheusError) throw err;
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError')
      throw new PrometheusError(`${where}: no answer within ${Math.round(timeoutMs / 1000)} s`);
    throw new PrometheusError(`${where}: cannot connect (${e.cause?.code ?? e.cause?.message ?? e.message})`);
  }
  let body: { status?: unknown; error?: unknown; data?: { resultType?: unknown; result?: unknown } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    const status = res.ok ? '' : `HTTP ${res.status}: `;
    throw new PrometheusError(`${where}: ${status}the answer is not Prometheus JSON: ${oneLine(text, 80)}`);
  }
  if (!res.ok || body.status !== 'success') {
    const why = typeof body.error === 'string' ? oneLine(body.error) : `status ${String(body.status)}`;
    throw new PrometheusError(`${where}: the query failed (HTTP ${res.status}): ${why}`);
  }
  const result = body.data?.result;
  if (body.data?.resultType !== 'vector' || !Array.isArray(result))
    throw new PrometheusError(`${where}: the answer is not an instant vector`);
  if (result.length > MAX_SERIES)
    throw new PrometheusError(
      `${where}: ${result.length} series, more than the ${MAX_SERIES} read; narrow it with --service or --selector`,
    );
  const out: Sample[] = [];
  for (const r of result as Array<{ metric?: unknown; value?: unknown }>) {
    const v = Array.isArray(r.value) ? Number(r.value[1]) : NaN;
    if (!Number.isFinite(v) || r.metric === null || typeof r.metric !== 'object') continue;
    out.push({ labels: r.metric as Record<string, string>, value: v });
  }
  return out;
}

/**
 * The label matchers for `--service` and `--selector` (`name="value"` pairs as PromQL writes
 * them), checked so that nothing but matchers reaches the query.
 */
export function selectorOf(service: string | undefined, selectors: readonly string[]): string {
  const parts: string[] = [];
  if (service !== undefined) parts.push(`service_name=${JSON.stringify(service)}`);
  for (const s of selectors) {
    if (!/^\s*[A-Za-z_][A-Za-z0-9_]*\s*(=~|!=|!~|=)\s*"(?:[^"\\]|\\.)*"\s*$/.test(s))
      throw new PrometheusError(
        `--selector ${JSON.stringify(s)} is not a label matcher such as job="api" or instance=~"10\\\\..*"`,
      );
    parts.push(s.trim());
  }
  return parts.join(',');
}

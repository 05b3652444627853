/**
 * Where `sockscope gaps` and `sockscope report` get their spans: trace files, Jaeger's query API,
 * Zipkin's API. Shared so both commands accept the same inputs and report the same errors.
 *
 * For a command that reads traces (as `runReport` does):
 *
 * ```ts
 * const args = parseCommandArgs('report', argv, { ...INPUT_OPTIONS, json: { type: 'boolean' } });
 * const inputs = traceInputsFromArgs('report', args); // UsageError when none or inconsistent
 * for await (const batch of loadTraceBatches(inputs, { onWarning: (w) => console.error(`sockscope: warning: ${w}`) })) {
 *   // batch: TraceSpan[]: one JSONL line, one document, or one API answer
 * }
 * ```
 * Errors are thrown as `TraceInputError` (unreadable file, invalid JSON with its line, unknown
 * format, a Jaeger/Zipkin URL that does not answer or answers with an error) or `UsageError`;
 * `main.ts` prints either as one stderr line and exits 2.
 */
import type { TraceSpan } from '../analysis/model';
import {
  TraceDataError,
  TraceInputError,
  readTraceFileBatches,
  spansFromDocument,
  detectFormat,
} from '../analysis/read';
import {
  UsageError,
  parseDuration,
  parsePositiveInt,
  stringOption,
  type OptionSpecs,
  type ParsedArgs,
} from './args';

/** The input options every trace-reading command accepts (spread into its own option specs). */
export const INPUT_OPTIONS: OptionSpecs = {
  jaeger: { type: 'string' },
  zipkin: { type: 'string' },
  service: { type: 'string' },
  lookback: { type: 'string' },
  limit: { type: 'string' },
};

export const INPUT_USAGE =
  '[FILE...] [--jaeger URL --service NAME [--lookback DURATION] [--limit N]] [--zipkin URL --service NAME]';

export interface ApiSource {
  url: string;
  service: string;
  lookbackMs: number;
  limit: number;
}

export interface TraceInputs {
  files: string[];
  jaeger?: ApiSource;
  zipkin?: ApiSource;
}

export const DEFAULT_LOOKBACK_MS = 3_600_000;
export const DEFAULT_LIMIT = 100;

/**
 * The inputs named on a command line (positionals are files).
 * @throws UsageError when there are none, or `--jaeger`/`--zipkin` lack `--service`
 */
export function traceInputsFromArgs(command: string, args: ParsedArgs): TraceInputs {
  const jaeger = stringOption(args.values, 'jaeger');
  const zipkin = stringOption(args.values, 'zipkin');
  const service = stringOption(args.values, 'service');
  const lookback = stringOption(args.values, 'lookback');
  const limit = stringOption(args.values, 'limit');
  const inputs: TraceInputs = { files: [...args.positionals] };
  if ((jaeger !== undefined || zipkin !== undefined) && (service === undefined || service === '')) {
    throw new UsageError(`${command}: --${jaeger !== undefined ? 'jaeger' : 'zipkin'} needs --service NAME`);
  }
  if (
    jaeger === undefined &&
    zipkin === undefined &&
    (service !== undefined || lookback !== undefined || limit !== undefined)
  ) {
    throw new UsageError(
      `${command}: --service, --lookback and --limit go with --jaeger URL or --zipkin URL`,
    );
  }
  const source = (option: string, url: string): ApiSource => {
    if (!/^https?:\/\/[^/]/i.test(url))
      throw new UsageError(`${command}: --${option}: '${url}' is not an http(s) URL`);
    return {
      url,
      service: service as string,
      lookbackMs: lookback === undefined ? DEFAULT_LOOKBACK_MS : parseDuration('--lookback', lookback),
      limit: limit === undefined ? DEFAULT_LIMIT : parsePositiveInt('--limit', limit),
    };
  };
  if (jaeger !== undefined) inputs.jaeger = source('jaeger', jaeger);
  if (zipkin !== undefined) inputs.zipkin = source('zipkin', zipkin);
  if (inputs.files.length === 0 && !inputs.jaeger && !inputs.zipkin) {
    throw new UsageError(
      `${command}: give trace files, --jaeger URL --service NAME, or --zipkin URL --service NAME`,
    );
  }
  return inputs;
}

/** A short description of the inputs for messages ("traces.jsonl", "Jaeger at http://...", ...). */
export function describeInputs(inputs: TraceInputs): string {
  const parts = [...inputs.files];
  if (inputs.jaeger) parts.push(`Jaeger at ${inputs.jaeger.url} (service ${inputs.jaeger.service})`);
  if (inputs.zipkin) parts.push(`Zipkin at ${inputs.zipkin.url} (service ${inputs.zipkin.service})`);
  return parts.join(', ');
}

export interface LoadOptions {
  /** One-line warnings (e.g. skipped bad lines). */
  onWarning?: (message: string) => void;
  /** Give up on a Jaeger/Zipkin API that has not answered after this long. Default 30 s. */
  fetchTimeoutMs?: number;
}

/** `base` with `path` appended, unless the user already gave the full API path. */
export function apiUrl(base: string, path: string, params: Record<string, string>): URL {
  const url = new URL(base);
  if (!url.pathname.replace(/\/+$/, '').endsWith(path))
    url.pathname = url.pathname.replace(/\/+$/, '') + path;
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url;
}

/**
 * The most a Jaeger or Zipkin answer may hold, in bytes: the answer is parsed whole, and a string
 * past V8's limit (about 512 MiB) cannot be built at all. Past it the command stops with one line
 * saying so (use `--limit`/`--lookback` to ask for less).
 */
export const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;
/** An error answer is read only this far: enough for the server's explanation. */
const MAX_ERROR_BODY_BYTES = 4096;

/**
 * The body as text, read as it streams in and abandoned past `max` bytes (the connection is
 * cancelled), so memory stays bounded whatever the server sends; `truncated` says it went past.
 */
async function readCapped(res: Response, max: number): Promise<{ text: string; truncated: boolean }> {
  if (res.body === null) return { text: '', truncated: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > max) {
      chunks.push(value.subarray(0, max - size));
      await reader.cancel().catch(() => undefined);
      return { text: Buffer.concat(chunks).toString('utf8'), truncated: true };
    }
    chunks.push(value);
    size += value.byteLength;
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
}

function oneLine(s: string, max = 200): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max)}...` : t;
}

async function fetchJson(what: string, url: URL, timeoutMs: number): Promise<unknown> {
  const where = `${what} at ${url.origin}${url.pathname}`;
  let res: Response;
  try {
    res = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: 'application/json' },
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError')
      throw new TraceInputError(`${where}: no answer within ${Math.round(timeoutMs / 1000)} s`, where);
    const why = e.cause?.code ?? e.cause?.message ?? e.message;
    throw new TraceInputError(`${where}: cannot connect (${why})`, where);
  }
  let body: { text: string; truncated: boolean };
  try {
    body = await readCapped(res, res.ok ? MAX_RESPONSE_BYTES : MAX_ERROR_BODY_BYTES);
  } catch (err) {
    if (!res.ok) body = { text: '', truncated: false };
    else throw new TraceInputError(`${where}: the answer broke off (${(err as Error).message})`, where);
  }
  const text = body.text;
  if (res.ok && body.truncated) {
    throw new TraceInputError(
      `${where}: the answer is larger than ${MAX_RESPONSE_BYTES / 1048576} MiB; ask for fewer traces with --limit or --lookback`,
      where,
    );
  }
  if (!res.ok) {
    // Jaeger explains its errors in {"errors":[{"msg": ...}]}; Zipkin in plain text.
    let detail = '';
    try {
      const body = JSON.parse(text) as { errors?: Array<{ msg?: string }> };
      detail = body.errors?.[0]?.msg ?? '';
    } catch {
      detail = text;
    }
    const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
    throw new TraceInputError(`${where}: answered ${status}${detail ? `: ${oneLine(detail)}` : ''}`, where);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new TraceInputError(`${where}: answered with invalid JSON: ${oneLine(text, 80)}`, where);
  }
}

/** Spans from Jaeger's query API (`GET /api/traces`), as one batch. */
export async function fetchJaeger(src: ApiSource, timeoutMs = 30_000): Promise<TraceSpan[]> {
  const endUs = Date.now() * 1000;
  const url = apiUrl(src.url, '/api/traces', {
    service: src.service,
    limit: String(src.limit),
    start: String(endUs - src.lookbackMs * 1000),
    end: String(endUs),
    lookback: `${Math.round(src.lookbackMs / 1000)}s`,
  });
  const body = await fetchJson('Jaeger', url, timeoutMs);
  if (detectFormat(body) !== 'jaeger')
    throw new TraceInputError(
      `Jaeger at ${url.origin}${url.pathname}: the answer is not Jaeger JSON`,
      src.url,
    );
  return convertAnswer(body, `Jaeger at ${url.origin}${url.pathname}`);
}

/** The spans of an API answer; a value no trace can have is reported against the API. */
function convertAnswer(body: unknown, where: string): TraceSpan[] {
  try {
    return spansFromDocument(body);
  } catch (err) {
    if (err instanceof TraceDataError) throw new TraceInputError(`${where}: ${err.message}`, where);
    throw err;
  }
}

/** Spans from Zipkin's API (`GET /api/v2/traces`), as one batch. */
export async function fetchZipkin(src: ApiSource, timeoutMs = 30_000): Promise<TraceSpan[]> {
  const url = apiUrl(src.url, '/api/v2/traces', {
    serviceName: src.service,
    limit: String(src.limit),
    endTs: String(Date.now()),
    lookback: String(Math.round(src.lookbackMs)),
  });
  const body = await fetchJson('Zipkin', url, timeoutMs);
  if (detectFormat(body) !== 'zipkin')
    throw new TraceInputError(
      `Zipkin at ${url.origin}${url.pathname}: the answer is not Zipkin v2 JSON`,
      src.url,
    );
  return convertAnswer(body, `Zipkin at ${url.origin}${url.pathname}`);
}

/**
 * Every span the inputs hold, in batches: files in order (a batch per JSONL line or document,
 * streamed), then Jaeger, then Zipkin (a batch per API answer).
 * @throws TraceInputError for any input that cannot be read; nothing is retried
 */
export async function* loadTraceBatches(
  inputs: TraceInputs,
  options: LoadOptions = {},
): AsyncGenerator<TraceSpan[]> {
  for (const f of inputs.files) yield* readTraceFileBatches(f, { onWarning: options.onWarning });
  if (inputs.jaeger) yield await fetchJaeger(inputs.jaeger, options.fetchTimeoutMs);
  if (inputs.zipkin) yield await fetchZipkin(inputs.zipkin, options.fetchTimeoutMs);
}

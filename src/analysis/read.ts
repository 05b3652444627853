/**
 * Trace readers: every input format sockscope accepts, detected from content, normalised to
 * `TraceSpan` (see model.ts).
 *
 * - JSONL (each line one OTLP `ExportTraceServiceRequest`, as `JsonlFileSpanExporter` and the
 *   Collector's file exporter write it; any line may also be another known document) is streamed
 *   line by line, so memory does not grow with the file.
 * - A single JSON document (OTLP/JSON, Jaeger `/api/traces` response or UI download, Zipkin v2
 *   span array) is read whole.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { TraceSpan } from './model';
import { TraceDataError, TraceInputError, UnknownFormatError, describeJsonError } from './read-common';
import { isJaegerResponse, isJaegerTrace, jaegerToSpans } from './read-jaeger';
import { isOtlpDocument, otlpToSpans } from './read-otlp';
import { isZipkinDocument, zipkinToSpans } from './read-zipkin';

export { TraceDataError, TraceInputError, UnknownFormatError } from './read-common';

/**
 * The most one JSONL line may hold, in bytes. A line is parsed whole and V8 cannot build a string
 * much past 512 MiB, so longer lines are refused (naming file and line) before they are buffered.
 */
export const MAX_LINE_BYTES = 256 * 1024 * 1024;
/** The most a single (non-JSONL) document may hold, in bytes, for the same reason. */
export const MAX_DOCUMENT_BYTES = 256 * 1024 * 1024;

export type TraceFormat = 'otlp' | 'jaeger' | 'zipkin';

export interface ReadOptions {
  /** Called with a one-line warning (e.g. skipped lines). Defaults to ignoring warnings. */
  onWarning?: (message: string) => void;
  /**
   * A single (non-JSONL) document is held in memory to parse it; above this size the reader
   * refuses with a hint to use JSONL. Default `MAX_DOCUMENT_BYTES` (256 MiB).
   */
  maxDocumentBytes?: number;
  /** A JSONL line longer than this many bytes is refused. Default `MAX_LINE_BYTES` (256 MiB). */
  maxLineBytes?: number;
}

/** Which format a parsed JSON value is in, or undefined when it is none sockscope knows. */
export function detectFormat(doc: unknown): TraceFormat | undefined {
  if (isOtlpDocument(doc)) return 'otlp';
  if (isJaegerTrace(doc) || isJaegerResponse(doc)) return 'jaeger';
  if (isZipkinDocument(doc)) return 'zipkin';
  // A list of Jaeger trace objects (some tools save `data` without its wrapper).
  if (Array.isArray(doc) && doc.length > 0 && doc.every(isJaegerTrace)) return 'jaeger';
  return undefined;
}

/**
 * Convert one parsed JSON document of any known format.
 * @throws UnknownFormatError when the document is none of them
 */
export function spansFromDocument(doc: unknown): TraceSpan[] {
  switch (detectFormat(doc)) {
    case 'otlp':
      return otlpToSpans(doc);
    case 'jaeger':
      if (Array.isArray(doc)) return doc.flatMap((t) => jaegerToSpans(t));
      return jaegerToSpans(doc);
    case 'zipkin':
      return zipkinToSpans(doc as unknown[]);
    default:
      throw new UnknownFormatError();
  }
}

function tryParse(line: string): { ok: true; value: unknown } | { ok: false; error: unknown } {
  try {
    return { ok: true, value: JSON.parse(line) };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * The lines of a byte stream, split on `\n` (a trailing `\r` is kept; callers trim), decoded as
 * UTF-8 once whole. A line is never held past `maxBytes`: `tooLong(lineNumber)` is thrown first,
 * so a 2 GB file without a newline costs `maxBytes` of memory, not 2 GB.
 */
async function* linesOf(
  stream: Readable,
  maxBytes: number,
  tooLong: (line: number) => Error,
): AsyncGenerator<string> {
  let parts: Buffer[] = [];
  let size = 0;
  let n = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      const piece = chunk.subarray(start, nl === -1 ? chunk.length : nl);
      size += piece.length;
      if (size > maxBytes) throw tooLong(n + 1);
      if (piece.length > 0) parts.push(piece);
      if (nl === -1) break;
      n++;
      yield Buffer.concat(parts, size).toString('utf8');
      parts = [];
      size = 0;
      start = nl + 1;
    }
  }
  if (size > 0) yield Buffer.concat(parts, size).toString('utf8');
}

/** A line that is a whole trace document on its own marks the file as JSONL. */
function standaloneDocument(line: string): unknown {
  const c = line[0];
  if (c !== '{' && c !== '[') return undefined;
  const last = line[line.length - 1];
  if (last !== '}' && last !== ']') return undefined;
  const r = tryParse(line);
  return r.ok && detectFormat(r.value) !== undefined ? r.value : undefined;
}

async function checkReadable(file: string): Promise<void> {
  try {
    const fh = await open(file, 'r');
    try {
      const st = await fh.stat();
      if (st.isDirectory()) throw new TraceInputError(`${file}: is a directory, not a trace file`, file);
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof TraceInputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new TraceInputError(`${file}: cannot read: ${why}`, file);
  }
}

/**
 * Read one trace file in batches: one batch per JSONL line, or one for a whole document.
 * Batches let an analysis know when a unit of export is complete (see `CoverageTracker`).
 * @throws TraceInputError (unreadable file, invalid JSON with its line, unknown format)
 */
export async function* readTraceFileBatches(
  file: string,
  options: ReadOptions = {},
): AsyncGenerator<TraceSpan[]> {
  await checkReadable(file);
  const maxDoc = options.maxDocumentBytes ?? MAX_DOCUMENT_BYTES;
  const maxLine = options.maxLineBytes ?? MAX_LINE_BYTES;
  const stream = createReadStream(file);
  const lines = linesOf(
    stream,
    maxLine,
    (n) =>
      new TraceInputError(
        `${file}:${n}: a line longer than ${mib(maxLine)} (the most one line may hold); write one OTLP request per line`,
        file,
        n,
      ),
  );
  // A document of a known format with a value no trace can have: a hard error naming the line.
  const convert = (doc: unknown, n: number): TraceSpan[] => {
    try {
      return spansFromDocument(doc);
    } catch (err) {
      if (err instanceof TraceDataError) throw new TraceInputError(`${file}:${n}: ${err.message}`, file, n);
      throw err;
    }
  };
  let mode: 'undecided' | 'jsonl' = 'undecided';
  // Lines held while undecided: the start of a multi-line document, or bad leading JSONL lines.
  let held: Array<{ n: number; text: string; doc: unknown }> = [];
  let heldBytes = 0;
  let heldDocs = 0;
  let lineNo = 0;
  let nonEmpty = 0;
  let bad = 0;
  let firstBad = 0;
  let firstBadReason = '';
  const noteBad = (n: number, reason: string): void => {
    bad++;
    if (firstBad === 0) {
      firstBad = n;
      firstBadReason = reason;
    }
  };
  // Held lines turned out to be JSONL: the whole-document lines count, the others were bad.
  function* releaseAsJsonl(): Generator<TraceSpan[]> {
    for (const h of held) {
      if (h.doc !== undefined) yield convert(h.doc, h.n);
      else if (h.text.trim() !== '') noteBad(h.n, 'invalid JSON');
    }
    held = [];
    heldBytes = 0;
    mode = 'jsonl';
  }
  try {
    for await (const raw of lines) {
      lineNo++;
      const line = raw.trim();
      if (line === '') {
        if (mode === 'undecided' && held.length > 0) held.push({ n: lineNo, text: '', doc: undefined });
        continue;
      }
      nonEmpty++;
      if (mode === 'jsonl') {
        const r = tryParse(line);
        if (!r.ok) {
          noteBad(lineNo, `invalid JSON: ${describeJsonError(line).reason}`);
          continue;
        }
        let spans: TraceSpan[];
        try {
          spans = convert(r.value, lineNo);
        } catch (err) {
          if (err instanceof TraceInputError) throw err;
          noteBad(lineNo, 'not a trace document');
          continue;
        }
        yield spans;
        continue;
      }
      const doc = standaloneDocument(line);
      if (doc !== undefined && held.length === 0) {
        mode = 'jsonl';
        yield convert(doc, lineNo);
        continue;
      }
      // A pretty-printed document may end with one line that is a trace object on its own (the
      // last entry of Jaeger's `data`); two such lines after a bad start mean JSONL.
      held.push({ n: lineNo, text: raw, doc });
      heldBytes += raw.length + 1;
      if (doc !== undefined && ++heldDocs >= 2) {
        yield* releaseAsJsonl();
        continue;
      }
      if (heldBytes > maxDoc) {
        throw new TraceInputError(
          `${file}: a single JSON document over ${mib(maxDoc)}; write traces as JSONL (one OTLP request per line) to stream them`,
          file,
        );
      }
    }
  } catch (err) {
    if (err instanceof TraceInputError) throw err;
    throw new TraceInputError(`${file}: cannot read: ${(err as Error).message}`, file);
  } finally {
    await lines.return(undefined);
    stream.destroy();
  }

  if (mode === 'undecided' && held.length > 0) {
    const firstLine = held[0].n;
    const text = held.map((h) => h.text).join('\n');
    const r = tryParse(text);
    if (r.ok) {
      held = [];
      if (detectFormat(r.value) === undefined) {
        throw new TraceInputError(
          `${file}: unknown trace format: expected OTLP/JSON (JSONL), Jaeger JSON or Zipkin v2 JSON`,
          file,
        );
      }
      yield convert(r.value, firstLine);
    } else if (heldDocs > 0) {
      yield* releaseAsJsonl();
    } else {
      const { line: at, reason } = describeJsonError(text, firstLine);
      throw new TraceInputError(`${file}:${at}: invalid JSON: ${reason}`, file, at);
    }
  }
  if (bad > 0) {
    options.onWarning?.(
      `${file}: skipped ${bad} of ${nonEmpty} lines (first at line ${firstBad}: ${firstBadReason})`,
    );
  }
}

function mib(bytes: number): string {
  return bytes >= 1048576 ? `${Math.round(bytes / 1048576)} MiB` : `${bytes} bytes`;
}

/** Read several files in order, in batches (see `readTraceFileBatches`). */
export async function* readTraceBatches(
  files: Iterable<string>,
  options: ReadOptions = {},
): AsyncGenerator<TraceSpan[]> {
  for (const f of files) yield* readTraceFileBatches(f, options);
}

/** Read several files span by span. */
export async function* readTraceSpans(
  files: Iterable<string>,
  options: ReadOptions = {},
): AsyncGenerator<TraceSpan> {
  for await (const batch of readTraceBatches(files, options)) yield* batch;
}

/** Read one whole file into memory: fine for small inputs and tests; stream large ones instead. */
export async function readTraceFile(file: string, options: ReadOptions = {}): Promise<TraceSpan[]> {
  const out: TraceSpan[] = [];
  for await (const batch of readTraceFileBatches(file, options)) for (const s of batch) out.push(s);
  return out;
}

/**
 * Parse trace text already in memory (a fetched API response, a string in a test).
 * @param source names the input in error messages
 */
export function parseTraceText(text: string, source: string): TraceSpan[] {
  try {
    return parseText(text, source);
  } catch (err) {
    if (err instanceof TraceDataError) throw new TraceInputError(`${source}: ${err.message}`, source);
    throw err;
  }
}

function parseText(text: string, source: string): TraceSpan[] {
  const r = tryParse(text);
  if (r.ok) {
    if (detectFormat(r.value) === undefined)
      throw new TraceInputError(
        `${source}: unknown trace format: expected OTLP/JSON (JSONL), Jaeger JSON or Zipkin v2 JSON`,
        source,
      );
    return spansFromDocument(r.value);
  }
  const lines = text.split('\n');
  const firstIdx = lines.findIndex((l) => l.trim() !== '');
  if (firstIdx === -1) return [];
  if (standaloneDocument(lines[firstIdx].trim()) === undefined) {
    const { line: at, reason } = describeJsonError(text);
    throw new TraceInputError(`${source}:${at}: invalid JSON: ${reason}`, source, at);
  }
  // JSONL text: every line must be a trace document.
  const out: TraceSpan[] = [];
  for (let i = firstIdx; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    const doc = standaloneDocument(line);
    if (doc === undefined) {
      const lr = tryParse(line);
      const why = lr.ok ? 'not a trace document' : `invalid JSON: ${describeJsonError(line).reason}`;
      throw new TraceInputError(`${source}:${i + 1}: ${why}`, source, i + 1);
    }
    for (const s of spansFromDocument(doc)) out.push(s);
  }
  return out;
}

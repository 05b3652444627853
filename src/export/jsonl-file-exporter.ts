import * as fs from 'node:fs';
import { context, diag } from '@opentelemetry/api';
import { ExportResultCode, suppressTracing, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';

/** Options of {@link JsonlFileSpanExporter}. */
export interface JsonlFileSpanExporterOptions {
  /** File to append to. Created if missing; its folder must exist. */
  path: string;
  /**
   * Size, in bytes, at which the file is rotated: it is renamed to `path.1` (an older `path.1`
   * becomes `path.2`, and so on, up to `maxFiles`) and a new `path` is started. A line is never
   * split across files. `0` or `Infinity` turns rotation off.
   * @default 104857600 (100 MiB)
   */
  maxBytes?: number;
  /**
   * How many rotated files (`path.1` … `path.N`) to keep; the oldest beyond that is deleted. Disk
   * use stays below `(maxFiles + 1) * maxBytes`.
   * @default 1
   */
  maxFiles?: number;
}

export const DEFAULT_MAX_BYTES = 100 * 1024 * 1024;
export const DEFAULT_MAX_FILES = 1;

const NEWLINE = 0x0a;

type Serializer = (typeof import('@opentelemetry/otlp-transformer'))['JsonTraceSerializer'];
let serializer: Serializer | undefined;

/**
 * The OTLP/JSON serialiser, loaded on first use: `@opentelemetry/otlp-transformer` is an optional
 * peer (every OTLP exporter and `@opentelemetry/sdk-node` bring it), so `require('sockscope')` must
 * not need it.
 */
function jsonSerializer(): Serializer {
  if (serializer !== undefined) return serializer;
  try {
    serializer = (
      require('@opentelemetry/otlp-transformer') as typeof import('@opentelemetry/otlp-transformer')
    ).JsonTraceSerializer;
  } catch {
    throw new Error(MISSING_TRANSFORMER);
  }
  return serializer;
}

const MISSING_TRANSFORMER =
  'JsonlFileSpanExporter needs @opentelemetry/otlp-transformer: install it, or any OTLP trace exporter or @opentelemetry/sdk-node, which bring it';

/**
 * Fails where the user creates the exporter when the serialiser is missing, without loading it:
 * requiring otlp-transformer (with sdk-metrics and sdk-logs) costs ~40 ms of start-up, paid at the
 * first export instead, like the OTLP exporters' own.
 */
function checkSerializerInstalled(): void {
  if (serializer !== undefined) return;
  try {
    require.resolve('@opentelemetry/otlp-transformer');
  } catch {
    throw new Error(MISSING_TRANSFORMER);
  }
}

/**
 * A `SpanExporter` that appends each `export()` call to a file as ONE line: an OTLP
 * `ExportTraceServiceRequest` in the OTLP/JSON encoding, as serialised by the OpenTelemetry
 * `JsonTraceSerializer` (the same bytes the OTLP/HTTP JSON exporter sends). This is the format
 * the OpenTelemetry Collector's file exporter writes, and what `sockscope gaps`/`report` read.
 *
 * Each line is written with a single synchronous `write` on a file opened in append mode, so a
 * crash mid-export leaves whole lines only, and a `SIGTERM` flush completes before the process
 * ends.
 */
export class JsonlFileSpanExporter implements SpanExporter {
  readonly path: string;
  private readonly _maxBytes: number;
  private readonly _maxFiles: number;
  private _fd: number | undefined;
  private _size = 0;
  private _isShutdown = false;
  private _rotationWarned = false;
  private _oversizeWarned = false;

  constructor(options: JsonlFileSpanExporterOptions) {
    if (!options || typeof options.path !== 'string' || options.path === '') {
      throw new TypeError('JsonlFileSpanExporter: options.path (a file path) is required');
    }
    this.path = options.path;
    checkSerializerInstalled(); // fail here, where the user creates the exporter, not at the first export
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this._maxBytes = maxBytes > 0 && Number.isFinite(maxBytes) ? maxBytes : Infinity;
    this._maxFiles = Math.max(1, Math.floor(options.maxFiles ?? DEFAULT_MAX_FILES));
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this._isShutdown || spans.length === 0) {
      resultCallback({ code: ExportResultCode.SUCCESS });
      return;
    }
    let result: ExportResult;
    try {
      // The writes below are file writes, not sockets, so sockscope's net.Socket patch never sees
      // them. Suppression additionally keeps any fs instrumentation (instrumentation-fs) from
      // tracing them, which would otherwise feed spans back into this exporter in a loop.
      context.with(suppressTracing(context.active()), () => this._writeSpans(spans));
      result = { code: ExportResultCode.SUCCESS };
    } catch (err) {
      // OpenTelemetry's rule: never throw into the app; report the failure to the processor.
      result = { code: ExportResultCode.FAILED, error: err as Error };
    }
    resultCallback(result);
  }

  /** Nothing is buffered: every `export()` has reached the file when it returns. */
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    this._isShutdown = true;
    this._close();
    return Promise.resolve();
  }

  private _writeSpans(spans: ReadableSpan[]): void {
    const body = jsonSerializer().serializeRequest(spans);
    if (body === undefined)
      throw new Error('JsonlFileSpanExporter: the OTLP/JSON serialiser returned nothing');
    const line = Buffer.allocUnsafe(body.byteLength + 1);
    line.set(body, 0);
    line[body.byteLength] = NEWLINE;
    if (line.length > this._maxBytes) {
      // A single line may never exceed the size bound: split the batch until it fits.
      if (spans.length > 1) {
        const half = Math.ceil(spans.length / 2);
        this._writeSpans(spans.slice(0, half));
        this._writeSpans(spans.slice(half));
        return;
      }
      if (!this._oversizeWarned) {
        this._oversizeWarned = true;
        diag.warn(
          `JsonlFileSpanExporter: dropped a span whose OTLP/JSON line (${line.length} bytes) is larger than maxBytes (${this._maxBytes}) for ${this.path}; further such drops are not reported`,
        );
      }
      return;
    }
    this._open();
    if (this._size > 0 && this._size + line.length > this._maxBytes) this._rotate();
    this._appendLine(line);
  }

  private _open(): void {
    if (this._fd !== undefined) return;
    this._fd = fs.openSync(this.path, 'a');
    this._size = fs.fstatSync(this._fd).size;
  }

  private _close(): void {
    if (this._fd === undefined) return;
    const fd = this._fd;
    this._fd = undefined;
    try {
      fs.closeSync(fd);
    } catch {
      // Already closed or gone: nothing left to release.
    }
  }

  /** One `write` per line: `O_APPEND` makes it land whole at the end, or not at all. */
  private _appendLine(line: Buffer): void {
    const fd = this._fd as number;
    let offset = 0;
    // A regular file takes the whole buffer in one call; the loop only guards against a short
    // write (disk full mid-line), which then surfaces as an error rather than a silent loss.
    while (offset < line.length) {
      offset += fs.writeSync(fd, line, offset, line.length - offset);
    }
    this._size += line.length;
  }

  private _rotate(): void {
    this._close();
    const oldest = `${this.path}.${this._maxFiles}`;
    fs.rmSync(oldest, { force: true });
    for (let i = this._maxFiles - 1; i >= 1; i--) {
      const from = `${this.path}.${i}`;
      if (fs.existsSync(from)) fs.renameSync(from, `${this.path}.${i + 1}`);
    }
    fs.renameSync(this.path, `${this.path}.1`);
    if (!this._rotationWarned) {
      this._rotationWarned = true;
      diag.warn(
        `JsonlFileSpanExporter: ${this.path} reached maxBytes (${this._maxBytes}); rotated it to ${this.path}.1 (keeping ${this._maxFiles} rotated file(s), older ones are deleted). Further rotations are not reported.`,
      );
    }
    this._open();
  }
}

import type { IgnoreMatcher, SocketInstrumentationConfig } from '../types';

/** Defaults of `SocketInstrumentationConfig`, the one place they are set (documented in src/types.ts). */
export const DEFAULT_CONFIG = {
  exchanges: 'all',
  connections: true,
  requireParentSpan: false,
  ignore: [],
  captureCallerPackage: true,
  hashRequests: true,
  exchangeIdleMs: 1000,
  metrics: true,
} as const satisfies SocketInstrumentationConfig;

export type ResolvedConfig = Required<Omit<SocketInstrumentationConfig, 'enabled'>>;

export interface Resolved {
  config: ResolvedConfig;
  /** One message per bad field, naming the field and its value, ready for `diag.warn`. */
  warnings: string[];
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'function') return 'a function';
  if (v instanceof RegExp) return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

function isMatcher(m: unknown): m is IgnoreMatcher {
  return (
    typeof m === 'string' ||
    typeof m === 'function' ||
    m instanceof RegExp ||
    (m !== null && typeof m === 'object' && !Array.isArray(m))
  );
}

/**
 * The configuration with defaults filled in. A bad value never stops the app: the default (or,
 * for `ignore`, the good entries) is used, and a warning names the field and the value.
 */
export function resolveConfig(c: SocketInstrumentationConfig): Resolved {
  const warnings: string[] = [];
  const exchanges =
    c.exchanges === 'all' || c.exchanges === 'uncovered' || c.exchanges === 'none'
      ? c.exchanges
      : DEFAULT_CONFIG.exchanges;
  if (c.exchanges !== undefined && c.exchanges !== exchanges) {
    warnings.push(
      `sockscope: exchanges must be 'all', 'uncovered' or 'none'; got ${show(c.exchanges)}, using '${exchanges}'`,
    );
  }
  let exchangeIdleMs: number = DEFAULT_CONFIG.exchangeIdleMs;
  if (c.exchangeIdleMs !== undefined) {
    const idle = c.exchangeIdleMs as unknown;
    if (typeof idle === 'number' && Number.isFinite(idle) && idle > 0) exchangeIdleMs = idle;
    else {
      warnings.push(
        `sockscope: exchangeIdleMs must be a positive number of milliseconds; got ${show(idle)}, using ${exchangeIdleMs}`,
      );
    }
  }
  let ignore: IgnoreMatcher[] = [...DEFAULT_CONFIG.ignore];
  if (c.ignore !== undefined) {
    if (!Array.isArray(c.ignore)) {
      warnings.push(`sockscope: ignore must be a list of matchers; got ${show(c.ignore)}, ignoring nothing`);
    } else {
      ignore = c.ignore.filter(isMatcher);
      const bad = (c.ignore as unknown[]).filter((m) => !isMatcher(m));
      if (bad.length > 0) {
        warnings.push(
          `sockscope: ignore entries must be a string, RegExp, { host?, port? } or function; got ${bad.map(show).join(', ')}, left out`,
        );
      }
    }
  }
  return {
    config: {
      exchanges,
      connections: c.connections ?? DEFAULT_CONFIG.connections,
      requireParentSpan: c.requireParentSpan ?? DEFAULT_CONFIG.requireParentSpan,
      ignore,
      captureCallerPackage: c.captureCallerPackage ?? DEFAULT_CONFIG.captureCallerPackage,
      hashRequests: c.hashRequests ?? DEFAULT_CONFIG.hashRequests,
      exchangeIdleMs,
      metrics: c.metrics ?? DEFAULT_CONFIG.metrics,
    },
    warnings,
  };
}

/**
 * npm version-range membership, for the ranges official instrumentations declare
 * (`>=1.4.2 <4`, `^1.0.0 || ^5.0.0`, `>= 6.7 < 8`, `2`, `*`). It follows node-semver's
 * `satisfies(version, range)` with its defaults, which is also what
 * `@opentelemetry/instrumentation` applies before it patches a module (its own copy of that
 * code). sockscope carries this small copy instead of depending on `semver` (docs/dependencies.md);
 * test/analysis/instrumentation-ranges.test.ts checks it against the instrumentation's on every
 * declared range.
 */

type Version = { major: number; minor: number; patch: number; pre: readonly (string | number)[] };
type Op = '<' | '<=' | '>' | '>=' | '=';
type Comparator = { op: Op; v: Version } | 'any';

const NUM = '0|[1-9]\\d*';
const IDENT = '(?:0|[1-9]\\d*|\\d*[a-zA-Z-][a-zA-Z0-9-]*)';
const PRE = `(?:-(${IDENT}(?:\\.${IDENT})*))?`;
const BUILD = '(?:\\+[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?';
const VERSION = new RegExp(`^v?(${NUM})\\.(${NUM})\\.(${NUM})${PRE}${BUILD}$`);
// A partial version in a range: `1`, `1.2`, `1.x`, `*`, `1.2.3-beta`.
const XR = '(?:x|X|\\*|0|[1-9]\\d*)';
const PARTIAL = new RegExp(`^v?(${XR})(?:\\.(${XR})(?:\\.(${XR})${PRE}${BUILD})?)?$`);

function preOf(s: string | undefined): (string | number)[] {
  if (s === undefined) return [];
  return s.split('.').map((id) => (/^\d+$/.test(id) ? Number(id) : id));
}

/** A full version (`1.4.1`, `v2.0.0-rc.1`), or undefined when it is not one. */
export function parseVersion(s: string): Version | undefined {
  const m = VERSION.exec(s.trim());
  if (m === null) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), pre: preOf(m[4]) };
}

function comparePre(a: readonly (string | number)[], b: readonly (string | number)[]): number {
  // A release ranks above its prereleases.
  if (a.length === 0 || b.length === 0) return b.length - a.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    // Numeric identifiers rank below alphanumeric ones.
    if (typeof x === 'number') return -1;
    if (typeof y === 'number') return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

function compare(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch || comparePre(a.pre, b.pre);
}

const isX = (s: string | undefined): boolean => s === undefined || s === 'x' || s === 'X' || s === '*';
const v = (major: number, minor: number, patch: number, pre: (string | number)[] = []): Version => ({
  major,
  minor,
  patch,
  pre,
});
/** `<` this: excludes every prerelease of the bound too, as node-semver's `-0` does. */
const below = (major: number, minor: number, patch: number): Comparator => ({
  op: '<',
  v: v(major, minor, patch, [0]),
});

/** One comparator token (`>=1.4.2`, `^5`, `~1.2`, `1.x`) as the comparators it stands for. */
function desugar(token: string): Comparator[] | undefined {
  const m = /^(<=|>=|<|>|=|\^|~>?)?\s*(.*)$/.exec(token);
  if (m === null) return undefined;
  const op = m[1] ?? '';
  const p = PARTIAL.exec(m[2]!);
  if (p === null) return undefined;
  const [, M, mi, pa, pre] = p;
  const xM = isX(M);
  const xm = xM || isX(mi);
  const xp = xm || isX(pa);
  const maj = xM ? 0 : Number(M);
  const min = xm ? 0 : Number(mi);
  const pat = xp ? 0 : Number(pa);
  const full = v(maj, min, pat, preOf(pre));
  if (op === '^') {
    if (xM) return ['any'];
    const lo: Comparator = { op: '>=', v: full };
    if (maj !== 0 || xm) return [lo, below(maj + 1, 0, 0)];
    if (min !== 0 || xp) return [lo, below(0, min + 1, 0)];
    return [lo, below(0, 0, pat + 1)];
  }
  if (op === '~' || op === '~>') {
    if (xM) return ['any'];
    const lo: Comparator = { op: '>=', v: full };
    return xm ? [lo, below(maj + 1, 0, 0)] : [lo, below(maj, min + 1, 0)];
  }
  if (!xp) return [{ op: op === '' ? '=' : (op as Op), v: full }];
  // A partial version: an X-range.
  if (xM) return op === '<' || op === '>' ? [{ op: '<', v: v(0, 0, 0, [0]) }] : ['any'];
  switch (op) {
    case '>':
      return [{ op: '>=', v: xm ? v(maj + 1, 0, 0) : v(maj, min + 1, 0) }];
    case '>=':
      return [{ op: '>=', v: v(maj, min, 0) }];
    case '<':
      return [below(maj, min, 0)];
    case '<=':
      return [xm ? below(maj + 1, 0, 0) : below(maj, min + 1, 0)];
    default:
      return [{ op: '>=', v: v(maj, min, 0) }, xm ? below(maj + 1, 0, 0) : below(maj, min + 1, 0)];
  }
}

/** One `||` alternative (space-separated comparators, or a hyphen range) as a comparator set. */
function parseSet(alt: string): Comparator[] | undefined {
  const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(alt);
  if (hyphen !== null) {
    const lo = desugar(`>=${hyphen[1]}`);
    // `1.2.3 - 2.3` means `<2.4.0-0`; a full upper bound is inclusive: both are `<=` desugared.
    const hi = desugar(`<=${hyphen[2]}`);
    return lo === undefined || hi === undefined ? undefined : [...lo, ...hi];
  }
  // `>= 6.7 < 8`: an operator may stand apart from its version.
  const tokens = alt
    .replace(/(<=|>=|<|>|=|\^|~>?)\s+/g, '$1')
    .split(/\s+/)
    .filter(Boolean);
  if (tokens.length === 0) return ['any'];
  const out: Comparator[] = [];
  for (const t of tokens) {
    const c = desugar(t);
    if (c === undefined) return undefined;
    out.push(...c);
  }
  return out;
}

function test(c: Comparator, ver: Version): boolean {
  if (c === 'any') return true;
  const d = compare(ver, c.v);
  switch (c.op) {
    case '<':
      return d < 0;
    case '<=':
      return d <= 0;
    case '>':
      return d > 0;
    case '>=':
      return d >= 0;
    default:
      return d === 0;
  }
}

function inSet(set: readonly Comparator[], ver: Version): boolean {
  if (!set.every((c) => test(c, ver))) return false;
  if (ver.pre.length === 0) return true;
  // A prerelease matches only a set that names a prerelease of the same major.minor.patch.
  return set.some(
    (c) =>
      c !== 'any' &&
      c.v.pre.length > 0 &&
      c.v.major === ver.major &&
      c.v.minor === ver.minor &&
      c.v.patch === ver.patch,
  );
}

/**
 * Whether `version` (a full version) is in `range` (an npm range). An unparseable version or
 * range is in no range: the caller then says nothing rather than something wrong.
 */
export function satisfies(version: string, range: string): boolean {
  const ver = parseVersion(version);
  if (ver === undefined) return false;
  for (const alt of range.split('||')) {
    const set = parseSet(alt.trim());
    if (set !== undefined && inSet(set, ver)) return true;
  }
  return false;
}

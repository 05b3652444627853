/** SQL text helpers for PostgreSQL and MySQL: the statement keyword and the literal-free shape. */
import { CR, LF, SP, isAlpha, isDigit } from './bytes';

/**
 * Finds the first SQL keyword in `buf[start, end)`, skipping whitespace, `(` and SQL comments, and
 * returns it upper-cased when it is a known statement keyword. Never returns anything else, so a
 * literal or identifier can never leak through an operation name.
 */
export function sqlKeyword(buf: Buffer, start: number, end: number): string | undefined {
  let i = start;
  while (i < end) {
    const c = buf[i];
    if (c === SP || c === 0x09 || c === CR || c === LF || c === 0x28 /* ( */) {
      i++;
    } else if (c === 0x2d && buf[i + 1] === 0x2d && i + 1 < end) {
      while (i < end && buf[i] !== LF) i++; // -- line comment
    } else if (c === 0x2f && buf[i + 1] === 0x2a && i + 1 < end) {
      i += 2; // /* block comment */
      while (i + 1 < end && !(buf[i] === 0x2a && buf[i + 1] === 0x2f)) i++;
      i += 2;
    } else break;
  }
  let j = i;
  while (j < end && j - i < 16 && isAlpha(buf[j])) j++;
  if (j === i || j - i > 12) return undefined;
  if (j < end && (isDigit(buf[j]) || buf[j] === 0x5f)) return undefined; // an identifier, not a keyword
  return SQL_KEYWORDS.get(buf.toString('latin1', i, j).toUpperCase());
}

const SQL_KEYWORDS = new Map<string, string>(
  (
    'SELECT INSERT UPDATE DELETE MERGE UPSERT REPLACE WITH VALUES TABLE BEGIN START COMMIT ROLLBACK END ABORT ' +
    'SAVEPOINT RELEASE CREATE ALTER DROP TRUNCATE RENAME GRANT REVOKE SET SHOW RESET DISCARD EXPLAIN ANALYZE ' +
    'ANALYSE VACUUM COPY LISTEN NOTIFY UNLISTEN DECLARE FETCH MOVE CLOSE PREPARE EXECUTE DEALLOCATE LOCK UNLOCK ' +
    'CALL DO USE DESCRIBE DESC LOAD HANDLER CHECKPOINT CLUSTER COMMENT REINDEX REFRESH SECURITY IMPORT OPTIMIZE ' +
    'REPAIR CHECK CHECKSUM KILL FLUSH PURGE XA SIGNAL RESIGNAL GET INSTALL UNINSTALL HELP BINLOG CACHE SHUTDOWN ' +
    'RESTART BACKUP'
  )
    .split(' ')
    .map((k) => [k, k]),
);

/** Longest statement shape kept; statements sharing this long a prefix share a shape. */
export const SHAPE_MAX = 240;

/**
 * The literal-free shape of the SQL text in `buf[start, end)`: string and quoted literals,
 * numbers and `$n` parameters become `?`, lists of them collapse to one `?`, comments go, white
 * space folds, letters are lower-cased. Only ever digested (`sockscope.statement.hash`), never
 * recorded, so that an N+1 loop of one statement is told apart from different statements.
 */
export function sqlShape(buf: Buffer, start: number, end: number): string | undefined {
  const out: number[] = [];
  const put = (c: number): void => {
    if (c === SP && (out.length === 0 || out[out.length - 1] === SP)) return;
    out.push(c);
  };
  let i = start;
  while (i < end && out.length < SHAPE_MAX) {
    const c = buf[i];
    if (c === 0x27 /* ' */ || c === 0x22 /* " */ || c === 0x60 /* ` */) {
      // A quoted literal (or identifier): its content never reaches the shape.
      i++;
      while (i < end) {
        if (buf[i] === 0x5c /* \ */) i += 2;
        else if (buf[i] === c) {
          if (buf[i + 1] === c) i += 2;
          else break;
        } else i++;
      }
      i++;
      put(0x3f);
    } else if (c === 0x2d && buf[i + 1] === 0x2d) {
      while (i < end && buf[i] !== LF) i++;
    } else if (c === 0x2f && buf[i + 1] === 0x2a) {
      i += 2;
      while (i + 1 < end && !(buf[i] === 0x2a && buf[i + 1] === 0x2f)) i++;
      i += 2;
    } else if (isDigit(c) || (c === 0x24 /* $ */ && isDigit(buf[i + 1]))) {
      const prev = out[out.length - 1];
      const inIdentifier = prev !== undefined && (isAlpha(prev) || isDigit(prev) || prev === 0x5f);
      if (inIdentifier) {
        put(c);
        i++;
        continue;
      }
      i++;
      while (i < end && (isDigit(buf[i]) || buf[i] === 0x2e || buf[i] === 0x65 || buf[i] === 0x45)) i++;
      put(0x3f);
    } else if (c === SP || c === 0x09 || c === CR || c === LF) {
      put(SP);
      i++;
    } else {
      put(c >= 0x41 && c <= 0x5a ? c + 32 : c);
      i++;
    }
  }
  if (out.length === 0) return undefined;
  return String.fromCharCode(...out)
    .trim()
    .replace(/\?(?: ?, ?\?)+/g, '?');
}

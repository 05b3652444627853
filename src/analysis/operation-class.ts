/**
 * What a call's operation does, as far as ordering and caching are concerned: setup, transaction
 * control, a read or a write. Fixed vocabularies per protocol; anything not known to only read is a write.
 */

/** What a call's operation does. */
export type CallClass =
  /** Connection setup or teardown (TLS, auth, handshakes, PING, QUIT): never part of a finding. */
  | 'setup'
  /** Transaction control (BEGIN, COMMIT, MULTI, EXEC...): its order is the point. */
  | 'transaction'
  /** Known to only read: may be cached or run concurrently. */
  | 'read'
  /** Changes state, or anything not known to only read. */
  | 'write'
  /** No recognised operation. */
  | 'unknown';

// prettier-ignore
const SETUP_OPS = new Set([
  'AUTH', 'HELLO', 'PING', 'QUIT', 'CLIENT', 'READONLY', 'STARTUP', 'STARTUPMESSAGE', 'SSLREQUEST',
  'GSSENCREQUEST', 'PASSWORD', 'SASL', 'SASLINITIALRESPONSE', 'SASLRESPONSE', 'SASLSTART',
  'SASLCONTINUE', 'TERMINATE', 'HANDSHAKE', 'HANDSHAKERESPONSE', 'CONNECT', 'DISCONNECT', 'PINGREQ',
  'EHLO', 'HELO', 'STARTTLS', 'RSET', 'NOOP', 'HELLO', 'ISMASTER', 'APIVERSIONS', 'SASLHANDSHAKE',
  'SASLAUTHENTICATE', 'METADATA', 'COM_PING', 'COM_QUIT', 'SET NAMES', 'VERSION', 'CHANGE_USER',
  'INIT_DB', 'SET_OPTION', 'RESET_CONNECTION', 'PREPARE', 'STMT_CLOSE', 'STMT_RESET', 'DEALLOCATE',
]);
export const TX_OPEN = new Set(['BEGIN', 'START', 'START TRANSACTION', 'MULTI', 'WATCH']);
export const TX_CLOSE = new Set(['COMMIT', 'ROLLBACK', 'END', 'ABORT', 'EXEC', 'DISCARD', 'UNWATCH']);
const TX_OTHER = new Set(['SAVEPOINT', 'RELEASE', 'PREPARE TRANSACTION', 'COMMIT PREPARED', 'XA']);

const SQL_READS = new Set(['SELECT', 'SHOW', 'EXPLAIN', 'VALUES', 'TABLE', 'DESCRIBE', 'DESC']);
// prettier-ignore
const REDIS_READS = new Set([
  'GET', 'MGET', 'GETRANGE', 'STRLEN', 'EXISTS', 'TTL', 'PTTL', 'TYPE', 'HGET', 'HMGET', 'HGETALL',
  'HEXISTS', 'HKEYS', 'HVALS', 'HLEN', 'HSTRLEN', 'HRANDFIELD', 'LRANGE', 'LLEN', 'LINDEX', 'LPOS',
  'SMEMBERS', 'SISMEMBER', 'SMISMEMBER', 'SCARD', 'SRANDMEMBER', 'SINTER', 'SUNION', 'SDIFF',
  'ZRANGE', 'ZRANGEBYSCORE', 'ZRANGEBYLEX', 'ZREVRANGE', 'ZREVRANGEBYSCORE', 'ZSCORE', 'ZMSCORE',
  'ZCARD', 'ZCOUNT', 'ZRANK', 'ZREVRANK', 'ZLEXCOUNT', 'SCAN', 'SSCAN', 'HSCAN', 'ZSCAN', 'KEYS',
  'DBSIZE', 'XRANGE', 'XREVRANGE', 'XLEN', 'GEOPOS', 'GEODIST', 'GEOSEARCH', 'GEORADIUS_RO',
  'BITCOUNT', 'GETBIT', 'BITPOS', 'PFCOUNT', 'JSON.GET', 'JSON.MGET', 'EVAL_RO', 'EVALSHA_RO',
  'FCALL_RO', 'DUMP', 'OBJECT', 'MEMORY', 'SUBSTR',
]);
const MEMCACHED_READS = new Set(['GET', 'GETS', 'MG', 'GAT', 'GATS']);
const MONGO_READS = new Set(['FIND', 'AGGREGATE', 'COUNT', 'COUNTDOCUMENTS', 'DISTINCT', 'GETMORE']);
const HTTP_READS = new Set(['GET', 'HEAD', 'OPTIONS']);
const SQL_PROTOCOLS = new Set(['postgresql', 'mysql', 'mariadb', 'mssql', 'sqlite', 'oracle', 'sql']);

/** The class of `op` (the operation name alone) over `protocol`. */
export function classify(protocol: string, op: string): CallClass {
  if (protocol === 'tls') return 'setup';
  if (op === '') return 'unknown';
  const o = op.toUpperCase();
  if (SETUP_OPS.has(o) || o.startsWith('CONNECTION.') || o.startsWith('CHANNEL.')) return 'setup';
  if (TX_OPEN.has(o) || TX_CLOSE.has(o) || TX_OTHER.has(o) || o.startsWith('TX.')) return 'transaction';
  let reads: Set<string> | undefined;
  if (SQL_PROTOCOLS.has(protocol)) reads = SQL_READS;
  else if (protocol === 'redis') reads = REDIS_READS;
  else if (protocol === 'memcached') reads = MEMCACHED_READS;
  else if (protocol === 'mongodb') reads = MONGO_READS;
  else if (protocol === 'http' || protocol === 'https') reads = HTTP_READS;
  // Redis `SELECT db` is connection setup, SQL `SELECT` is a read: checked after the protocol.
  if (protocol === 'redis' && o === 'SELECT') return 'setup';
  return reads?.has(o) ? 'read' : 'write';
}

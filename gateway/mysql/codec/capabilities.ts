/**
 * Capability flags of the handshake. The lower 32 bits are MySQL's; MariaDB sends its own
 * extended flags in four otherwise reserved bytes of the handshake (when the client does not
 * set CLIENT_MYSQL), kept here as a separate 32-bit set.
 */
export const CAPABILITY = {
  LONG_PASSWORD: 1,
  FOUND_ROWS: 2,
  LONG_FLAG: 4,
  CONNECT_WITH_DB: 8,
  NO_SCHEMA: 16,
  COMPRESS: 32,
  ODBC: 64,
  LOCAL_FILES: 128,
  IGNORE_SPACE: 256,
  PROTOCOL_41: 512,
  INTERACTIVE: 1024,
  SSL: 2048,
  IGNORE_SIGPIPE: 4096,
  TRANSACTIONS: 8192,
  RESERVED: 16384,
  SECURE_CONNECTION: 32768,
  MULTI_STATEMENTS: 1 << 16,
  MULTI_RESULTS: 1 << 17,
  PS_MULTI_RESULTS: 1 << 18,
  PLUGIN_AUTH: 1 << 19,
  CONNECT_ATTRS: 1 << 20,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 1 << 21,
  CAN_HANDLE_EXPIRED_PASSWORDS: 1 << 22,
  SESSION_TRACK: 1 << 23,
  DEPRECATE_EOF: 1 << 24,
  OPTIONAL_RESULTSET_METADATA: 1 << 25,
  ZSTD_COMPRESSION_ALGORITHM: 1 << 26,
  QUERY_ATTRIBUTES: 1 << 27,
  MULTI_FACTOR_AUTHENTICATION: 1 << 28,
  CAPABILITY_EXTENSION: 1 << 29,
  SSL_VERIFY_SERVER_CERT: 1 << 30,
  REMEMBER_OPTIONS: 2 ** 31,
} as const;

/** MariaDB's extended capabilities (bits 32..63 of its 64-bit set, here shifted down by 32). */
export const MARIADB_CAPABILITY = {
  PROGRESS: 1,
  COM_MULTI: 2,
  STMT_BULK_OPERATIONS: 4,
  EXTENDED_TYPE_INFO: 8,
  CACHE_METADATA: 16,
  BULK_UNIT_RESULTS: 64,
} as const;

/** True when every bit of `flag` is set in `flags` (unsigned 32-bit arithmetic). */
export function has(flags: number, flag: number): boolean {
  return (flags & flag) >>> 0 === flag >>> 0;
}

export function withFlag(flags: number, flag: number, on: boolean): number {
  return (on ? flags | flag : flags & ~flag) >>> 0;
}

/** Server status flags carried by OK and EOF packets. */
export const SERVER_STATUS = {
  IN_TRANS: 1,
  AUTOCOMMIT: 2,
  MORE_RESULTS_EXISTS: 8,
  NO_GOOD_INDEX_USED: 16,
  NO_INDEX_USED: 32,
  CURSOR_EXISTS: 64,
  LAST_ROW_SENT: 128,
  DB_DROPPED: 256,
  NO_BACKSLASH_ESCAPES: 512,
  METADATA_CHANGED: 1024,
  QUERY_WAS_SLOW: 2048,
  PS_OUT_PARAMS: 4096,
  IN_TRANS_READONLY: 8192,
  SESSION_STATE_CHANGED: 16384,
} as const;

/**
 * What the server's lexer depends on, per session: the sql_mode flags that change tokens, and
 * the server version that decides which versioned comments (`/*!50000 ...*\/`, MariaDB's
 * `/*M!100100 ...*\/`) are code. The adapter keeps it current from the server's own reports.
 */
export interface LexerMode {
  /** `"x"` is an identifier, not a string. */
  ansiQuotes: boolean;
  /** A backslash in a string is an ordinary character. */
  noBackslashEscapes: boolean;
  /** MariaDB rules for versioned comments (and `/*M!`), else MySQL's. */
  mariadb: boolean;
  /** The server version as MMmmpp (10.11.19 → 101119; 8.0.36 → 80036). */
  version: number;
  /** Set when sql_mode switches the server to another grammar (ORACLE, MSSQL): nothing can be analysed. */
  unsupported?: string;
}

/** Parses a greeting's version string ("5.5.5-10.11.19-MariaDB-...", "8.0.36") into the lexer's terms. */
export function versionOf(serverVersion: string): { mariadb: boolean; version: number } {
  const mariadb = /mariadb/i.test(serverVersion);
  const text = serverVersion.replace(/^5\.5\.5-/, '');
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(text);
  const version = match ? Number(match[1]) * 10000 + Number(match[2]) * 100 + Number(match[3]) : 0;
  return { mariadb, version };
}

/** The lexer flags of a sql_mode value as the server reports it ("ANSI_QUOTES,STRICT_TRANS_TABLES"). */
export function sqlModeFlags(sqlMode: string): Pick<LexerMode, 'ansiQuotes' | 'noBackslashEscapes' | 'unsupported'> {
  const modes = new Set(
    sqlMode
      .toUpperCase()
      .split(',')
      .map((m) => m.trim()),
  );
  const ansi =
    modes.has('ANSI') ||
    modes.has('ORACLE') ||
    modes.has('POSTGRESQL') ||
    modes.has('DB2') ||
    modes.has('MSSQL') ||
    modes.has('MAXDB');
  const other = ['ORACLE', 'MSSQL'].find((m) => modes.has(m));
  return {
    ansiQuotes: ansi || modes.has('ANSI_QUOTES'),
    noBackslashEscapes: modes.has('NO_BACKSLASH_ESCAPES'),
    ...(other
      ? { unsupported: `sql_mode ${other} switches the server to a grammar the gateway does not analyse` }
      : {}),
  };
}

/**
 * Whether a versioned comment's code runs on this server. MariaDB (10.11 measured): five
 * digits run below 50700 (MySQL 5.7+ comments are MySQL's), six digits up to its own version;
 * `/*M!` runs up to its version. MySQL: up to its version; `/*M!` is a plain comment.
 */
export function versionedCodeRuns(mode: LexerMode, kind: '!' | 'M!', digits: string): boolean {
  if (kind === 'M!') return mode.mariadb && (digits === '' || Number(digits) <= mode.version);
  if (digits === '') return true;
  if (mode.mariadb) return digits.length === 5 ? Number(digits) < 50700 : Number(digits) <= mode.version;
  return Number(digits) <= mode.version;
}

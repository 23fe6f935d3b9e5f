import * as pg18 from 'libpg-query';
import * as pg15 from 'libpg-query-15';
import * as pg16 from 'libpg-query-16';
import * as pg17 from 'libpg-query-17';

/**
 * PostgreSQL's own parser, one grammar per server major version: SQL that is a function call on
 * 15 (`json_scalar(3)`) is an expression on 17, and a statement must be analysed as the target
 * will read it. The target reports its version at connect (server_version).
 */
export interface SqlParser {
  readonly major: SupportedMajor;
  /** Parses SQL into libpg-query's JSON; throws on a syntax error. */
  parse(sql: string): { stmts?: { stmt: unknown; stmt_location?: number; stmt_len?: number }[] };
}

export const SUPPORTED_MAJORS = [15, 16, 17, 18] as const;
export type SupportedMajor = (typeof SUPPORTED_MAJORS)[number];

/** The grammar used where no target is involved (policy explain, tests): the newest. */
export const DEFAULT_MAJOR: SupportedMajor = 18;

interface ParserModule {
  loadModule(): Promise<void>;
  parseSync(sql: string): unknown;
}

const MODULES: Readonly<Record<SupportedMajor, ParserModule>> = { 15: pg15, 16: pg16, 17: pg17, 18: pg18 };

/** Loads every grammar (WASM) so that parsing afterwards is synchronous; calling again is harmless. */
export async function loadSqlParsers(): Promise<void> {
  await Promise.all(Object.values(MODULES).map((m) => m.loadModule()));
}

const parsers = new Map<SupportedMajor, SqlParser>();

/** The parser of a supported major version (the default one when none is given). */
export function sqlParser(major: SupportedMajor = DEFAULT_MAJOR): SqlParser {
  let parser = parsers.get(major);
  if (!parser) {
    const module = MODULES[major];
    parser = Object.freeze({ major, parse: (sql: string) => module.parseSync(sql) as ReturnType<SqlParser['parse']> });
    parsers.set(major, parser);
  }
  return parser;
}

/** The major version in a server_version report ("15.20 (Debian 15.20-0+deb12u1)", "17beta1", "9.6.24"), or null. */
export function majorOf(serverVersion: string): number | null {
  const match = /^(\d+)/.exec(serverVersion.trim());
  return match ? Number(match[1]) : null;
}

/** The parser for a target by the version it reported, or why the gateway cannot analyse its SQL. */
export function parserForServer(serverVersion: string | undefined): SqlParser | { problem: string } {
  const major = serverVersion === undefined ? null : majorOf(serverVersion);
  if (major !== null && (SUPPORTED_MAJORS as readonly number[]).includes(major))
    return sqlParser(major as SupportedMajor);
  const reported = serverVersion === undefined ? 'no server_version' : `server_version ${serverVersion}`;
  return {
    problem: `the target reports ${reported}; the gateway parses SQL with the grammar of the target's major version and has those of PostgreSQL ${SUPPORTED_MAJORS.join(', ')}, so it cannot analyse this server's statements; connect the connection to a supported server`,
  };
}

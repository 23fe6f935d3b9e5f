import { LOGGING_SETTING, SENSITIVE_SETTINGS } from './statement-classes.ts';

/**
 * The catalogue of built-in functions that reach outside the database's data: server files,
 * large objects, other servers, other backends, server configuration, or SQL text executed
 * dynamically. Matching is on the unqualified, lower-cased name so `pg_catalog.pg_read_file`
 * and a same-named wrapper in another schema are both caught.
 */
export const DANGEROUS_FUNCTIONS = {
  serverFiles: [
    'pg_read_file',
    'pg_read_binary_file',
    'pg_stat_file',
    'pg_ls_dir',
    'pg_ls_logdir',
    'pg_ls_waldir',
    'pg_ls_tmpdir',
    'pg_ls_archive_statusdir',
    'pg_ls_logicalsnapdir',
    'pg_ls_logicalmapdir',
    'pg_ls_replslotdir',
    'pg_ls_summariesdir',
    'pg_file_write',
    'pg_file_rename',
    'pg_file_unlink',
    'pg_file_sync',
    'pg_logdir_ls',
    'pg_file_length',
    'pg_file_read',
    'pg_current_logfile',
    'pg_read_file_old',
    'pg_rotate_logfile_old',
  ],
  serverConfigFiles: ['pg_hba_file_rules', 'pg_show_all_file_settings', 'pg_ident_file_mappings'],
  largeObjects: ['lo_*', 'loread', 'lowrite'],
  otherServers: ['dblink*', 'postgres_fdw_*'],
  backendSignals: ['pg_terminate_backend', 'pg_cancel_backend', 'pg_signal_backend', 'pg_log_backend_memory_contexts'],
  serverControl: [
    'pg_reload_conf',
    'pg_rotate_logfile',
    'pg_promote',
    'pg_switch_wal',
    'pg_create_restore_point',
    'pg_backup_start',
    'pg_backup_stop',
    'pg_start_backup',
    'pg_stop_backup',
    'pg_wal_replay_pause',
    'pg_wal_replay_resume',
    'pg_stat_reset*',
    'pg_create_physical_replication_slot',
    'pg_create_logical_replication_slot',
    'pg_drop_replication_slot',
    'pg_copy_*_replication_slot',
    'pg_logical_slot_*',
    'pg_replication_origin_*',
    'pg_logical_emit_message',
    'pg_import_system_collations',
    'pg_replication_slot_advance',
    'pg_sync_replication_slots',
    'pg_log_standby_snapshot',
    'pg_wal_replay_wait',
    'pg_stat_statements_reset',
    'binary_upgrade_*',
    'pg_nextoid',
    'pg_stop_making_pinned_objects',
  ],
  dynamicSql: [
    'query_to_xml',
    'query_to_xml_and_xmlschema',
    'query_to_xmlschema',
    'cursor_to_xml',
    'cursor_to_xmlschema',
    'ts_stat',
  ],
} as const;

/**
 * `set_config(name, ...)` settings that are dangerous to change from a query: the same ones `SET`
 * treats as privilege or admin (who the session is, and how the server lexes the next statement:
 * with standard_conforming_strings off or a multi-byte client_encoding, text the gateway parses as
 * one string literal can hold a statement the server runs).
 */
export const SENSITIVE_SET_CONFIG = Object.keys(SENSITIVE_SETTINGS);

type Matcher = (name: string) => boolean;

function compile(patterns: readonly string[]): { exact: Set<string>; prefixes: Matcher[] } {
  const exact = new Set<string>();
  const prefixes: Matcher[] = [];
  for (const pattern of patterns) {
    if (!pattern.includes('*')) {
      exact.add(pattern);
      continue;
    }
    const [head, tail] = pattern.split('*', 2) as [string, string];
    prefixes.push((name) => name.length >= head.length + tail.length && name.startsWith(head) && name.endsWith(tail));
  }
  return { exact, prefixes };
}

const CATALOGUE = compile(Object.values(DANGEROUS_FUNCTIONS).flat());

/** True when an (unqualified, lower-case) function name is in the catalogue. */
export function isDangerousFunctionName(name: string): boolean {
  return CATALOGUE.exact.has(name) || CATALOGUE.prefixes.some((match) => match(name));
}

/**
 * `set_config` is dangerous when it sets a sensitive setting, or when its setting name is not a
 * constant (it could be one). `settingName` is the constant first argument, or undefined.
 */
export function isDangerousSetConfig(settingName: string | undefined): boolean {
  if (settingName === undefined) return true;
  const name = settingName.trim().toLowerCase();
  return SENSITIVE_SET_CONFIG.includes(name) || LOGGING_SETTING.test(name);
}

/**
 * C symbols (pg_proc.prosrc) of the catalogue's built-ins where they differ from the SQL name. A
 * rename (`ALTER FUNCTION pg_read_file(text) RENAME TO cfg_text`) changes the name, never the
 * symbol, so a built-in is dangerous when either is in the catalogue.
 */
export const DANGEROUS_SYMBOLS: ReadonlySet<string> = new Set([
  'pg_read_file',
  'pg_read_file_v2',
  'pg_read_file_all',
  'pg_read_file_off_len',
  'pg_read_binary_file_all',
  'pg_read_binary_file_off_len',
  'pg_stat_file_1arg',
  'pg_ls_dir_1arg',
  'pg_ls_tmpdir_1arg',
  'pg_ls_tmpdir_noargs',
  'pg_current_logfile_1arg',
  'pg_rotate_logfile',
  'pg_rotate_logfile_v2',
  'pg_logical_emit_message_bytea',
  'pg_logical_emit_message_text',
  'show_all_file_settings',
  'set_config_by_name',
  // SQL text executed by the server itself: ts_stat(query [, weights]) and ts_rewrite(tsquery, query).
  'ts_stat1',
  'ts_stat2',
  'tsquery_rewrite_query',
]);

/** Shared libraries whose functions reach other servers, server files or raw pages and WAL (which hold table data unmasked). */
const DANGEROUS_LIBRARIES =
  /(^|\/)(dblink|adminpack|file_fdw|postgres_fdw|pageinspect|pg_walinspect|pg_surgery|lo)(\.so)?$/;

/**
 * Whether a function the target resolved is dangerous: by its name, or for a built-in or C
 * function by the C symbol it runs (a backend-side large-object symbol is `be_` + its name), or
 * by the library it lives in.
 */
export function isDangerousBuiltin(
  name: string,
  symbol: string | null,
  library: string | null,
  language: string,
): boolean {
  if (name !== 'set_config' && isDangerousFunctionName(name.toLowerCase())) return true;
  if (language !== 'internal' && language !== 'c') return false;
  if (library && DANGEROUS_LIBRARIES.test(library)) return true;
  if (!symbol) return false;
  // set_config is judged by its first argument where it is called by its own name; renamed, it is not judged at all.
  if (symbol === 'set_config_by_name') return name !== 'set_config';
  const bare = symbol.replace(/^be_/, '');
  return DANGEROUS_SYMBOLS.has(symbol) || isDangerousFunctionName(bare);
}

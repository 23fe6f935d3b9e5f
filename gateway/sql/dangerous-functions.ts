import { SENSITIVE_SETTINGS } from './statement-classes.ts';

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
  ],
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
  ],
  dynamicSql: [
    'query_to_xml',
    'query_to_xml_and_xmlschema',
    'query_to_xmlschema',
    'cursor_to_xml',
    'cursor_to_xmlschema',
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
  return SENSITIVE_SET_CONFIG.includes(settingName.trim().toLowerCase());
}

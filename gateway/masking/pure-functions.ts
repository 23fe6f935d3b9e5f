/**
 * Built-in functions whose result is computed only from their arguments, with no access to
 * tables, files, settings or other sessions. Only these propagate taint; every other function
 * (user-defined, `query_to_xml`, `pg_read_file`, `dblink`, ...) makes its result masked whole.
 */
export const PURE_FUNCTIONS: ReadonlySet<string> = new Set([
  'abs', 'age', 'array_agg', 'array_append', 'array_cat', 'array_length', 'array_lower', 'array_position',
  'array_prepend', 'array_remove', 'array_replace', 'array_to_json', 'array_to_string', 'array_upper',
  'ascii', 'avg', 'bit_and', 'bit_length', 'bit_or', 'bool_and', 'bool_or', 'btrim', 'cardinality', 'cbrt',
  'ceil', 'ceiling', 'char_length', 'character_length', 'chr', 'clock_timestamp', 'concat', 'concat_ws',
  'convert_from', 'convert_to', 'count', 'cume_dist', 'current_date', 'date_bin', 'date_part', 'date_trunc',
  'decode', 'degrees', 'dense_rank', 'div', 'encode', 'every', 'exp', 'extract', 'first_value', 'floor',
  'format', 'gen_random_uuid', 'generate_series', 'generate_subscripts', 'greatest', 'initcap', 'isfinite',
  'json_agg', 'json_array_length', 'json_build_array', 'json_build_object', 'json_each', 'json_each_text',
  'json_extract_path', 'json_extract_path_text', 'json_object', 'json_object_agg', 'json_object_keys',
  'json_strip_nulls', 'json_typeof', 'jsonb_agg', 'jsonb_array_elements', 'jsonb_array_elements_text',
  'jsonb_array_length', 'jsonb_build_array', 'jsonb_build_object', 'jsonb_each', 'jsonb_each_text',
  'jsonb_extract_path', 'jsonb_extract_path_text', 'jsonb_object', 'jsonb_object_agg', 'jsonb_object_keys',
  'jsonb_pretty', 'jsonb_set', 'jsonb_strip_nulls', 'jsonb_typeof', 'justify_days', 'justify_hours',
  'lag', 'last_value', 'lead', 'least', 'left', 'length', 'ln', 'localtime', 'localtimestamp', 'log',
  'lower', 'lpad', 'ltrim', 'make_date', 'make_interval', 'make_time', 'make_timestamp', 'make_timestamptz',
  'max', 'md5', 'min', 'mod', 'now', 'nth_value', 'ntile', 'num_nonnulls', 'num_nulls', 'octet_length',
  'overlay', 'percent_rank', 'percentile_cont', 'percentile_disc', 'pi', 'position', 'power', 'quote_ident',
  'quote_literal', 'quote_nullable', 'radians', 'random', 'rank', 'regexp_count', 'regexp_instr',
  'regexp_like', 'regexp_match', 'regexp_matches', 'regexp_replace', 'regexp_split_to_array',
  'regexp_split_to_table', 'regexp_substr', 'repeat', 'replace', 'reverse', 'right', 'round', 'row_number',
  'row_to_json', 'rpad', 'rtrim', 'sha224', 'sha256', 'sha384', 'sha512', 'sign', 'split_part', 'sqrt',
  'starts_with', 'statement_timestamp', 'stddev', 'stddev_pop', 'stddev_samp', 'string_agg',
  'string_to_array', 'string_to_table', 'strpos', 'substr', 'substring', 'sum', 'timeofday', 'to_char',
  'to_date', 'to_hex', 'to_json', 'to_jsonb', 'to_number', 'to_timestamp', 'transaction_timestamp',
  'translate', 'trim', 'trunc', 'unistr', 'unnest', 'upper', 'uuidv4', 'uuidv7', 'var_pop', 'var_samp',
  'variance', 'width_bucket',
]);

/**
 * Pure functions whose output still shows their text arguments verbatim (up to letter case and
 * JSON quoting), so the content detectors keep seeing secrets inside them. Any other function
 * applied to free text (reverse, encode, substr, translate, a cast to bytea, ...) could hide a
 * secret from the detectors, so its result is masked whole.
 */
export const TRANSPARENT_FUNCTIONS: ReadonlySet<string> = new Set([
  'array_agg', 'array_append', 'array_cat', 'array_prepend', 'array_to_json', 'array_to_string', 'concat',
  'concat_ws', 'first_value', 'format', 'greatest', 'initcap', 'json_agg', 'json_build_array',
  'json_build_object', 'json_object_agg', 'jsonb_agg', 'jsonb_build_array', 'jsonb_build_object',
  'jsonb_object_agg', 'jsonb_pretty', 'lag', 'last_value', 'lead', 'least', 'lower', 'max', 'min',
  'nth_value', 'quote_ident', 'quote_literal', 'quote_nullable', 'row_to_json', 'string_agg', 'to_json',
  'to_jsonb', 'unnest', 'upper',
]);

/** Trim functions are transparent only with their default (whitespace) argument list. */
export const TRANSPARENT_WITH_ONE_ARGUMENT: ReadonlySet<string> = new Set(['btrim', 'ltrim', 'rtrim', 'trim']);

/** Functions whose result says nothing about their arguments' content. */
export const CONTENT_FREE_FUNCTIONS: ReadonlySet<string> = new Set(['count', 'num_nulls', 'num_nonnulls']);

/** Built-in operators: they compute from their operands only. A user-defined operator of the same symbol makes it opaque. */
export const BUILTIN_OPERATORS: ReadonlySet<string> = new Set([
  '=', '<>', '!=', '<', '>', '<=', '>=', '+', '-', '*', '/', '%', '^', '||', '~~', '!~~', '~~*', '!~~*', '~',
  '!~', '~*', '!~*', '&', '|', '#', '<<', '>>', '@>', '<@', '&&', '->', '->>', '#>', '#>>', '?', '?|', '?&',
  '@@', '|/', '||/', '@', '#-',
]);

/** Operators whose result shows its text operands verbatim. */
export const TRANSPARENT_OPERATORS: ReadonlySet<string> = new Set(['||']);

/**
 * Relations of pg_catalog that hold copies of table data (planner statistics): their columns
 * are masked whole, whatever the column rules say.
 */
export const DATA_BEARING_CATALOG_RELATIONS: ReadonlySet<string> = new Set([
  'pg_stats', 'pg_stats_ext', 'pg_stats_ext_exprs', 'pg_statistic', 'pg_statistic_ext_data',
]);

/** Type OIDs whose values cannot spell out free text (numbers, booleans, times, ids). */
export const NON_TEXT_TYPE_OIDS: ReadonlySet<number> = new Set([
  16, 20, 21, 23, 26, 28, 700, 701, 790, 1082, 1083, 1114, 1184, 1186, 1266, 1700, 2950, 869, 650, 829, 1560, 1562, 3220,
]);

/** Type names (as written in a cast) that cannot spell out free text. */
export const NON_TEXT_TYPE_NAMES: ReadonlySet<string> = new Set([
  'bool', 'boolean', 'int2', 'int4', 'int8', 'smallint', 'integer', 'int', 'bigint', 'oid', 'float4', 'float8',
  'real', 'double precision', 'numeric', 'decimal', 'money', 'date', 'time', 'timetz', 'timestamp', 'timestamptz',
  'interval', 'uuid', 'inet', 'cidr', 'macaddr',
]);

/** Type names whose cast keeps text verbatim. */
export const TEXT_TYPE_NAMES: ReadonlySet<string> = new Set([
  'text', 'varchar', 'bpchar', 'char', 'character', 'character varying', 'name', 'json', 'jsonb', 'citext', 'unknown',
]);

import { derived, maskWhole } from './column-mask.ts';
import { MaskingDenial, type AnalysisContext } from './analysis-types.ts';
import { fromMaskedData } from './column-mask.ts';
import { isBuiltinObject } from './catalog.ts';
import type { ExprTaint } from './expression-taint.ts';

/**
 * Built-ins that report on the server, the catalog or the session (version(), current_database(),
 * nextval(), has_table_privilege(), pg_get_viewdef(), ...), never on table data: their results are
 * clean unless an argument is masked. Generated from PostgreSQL 15 like the list above.
 */
export const INFORMATION_FUNCTION_OIDS: Readonly<Record<string, readonly number[]>> = {
  col_description: [1216],
  current_database: [861],
  current_schema: [1402],
  current_schemas: [1403],
  current_setting: [2077, 3294],
  currval: [1575],
  format_type: [1081],
  has_any_column_privilege: [3024, 3025, 3026, 3027, 3028, 3029],
  has_column_privilege: [3012, 3013, 3014, 3015, 3016, 3017, 3018, 3019, 3020, 3021, 3022, 3023],
  has_database_privilege: [2250, 2251, 2252, 2253, 2254, 2255],
  has_foreign_data_wrapper_privilege: [3000, 3001, 3002, 3003, 3004, 3005],
  has_function_privilege: [2256, 2257, 2258, 2259, 2260, 2261],
  has_language_privilege: [2262, 2263, 2264, 2265, 2266, 2267],
  has_parameter_privilege: [6205, 6206, 6207],
  has_schema_privilege: [2268, 2269, 2270, 2271, 2272, 2273],
  has_sequence_privilege: [2181, 2182, 2183, 2184, 2185, 2186],
  has_server_privilege: [3006, 3007, 3008, 3009, 3010, 3011],
  has_table_privilege: [1922, 1923, 1924, 1925, 1926, 1927],
  has_tablespace_privilege: [2390, 2391, 2392, 2393, 2394, 2395],
  has_type_privilege: [3138, 3139, 3140, 3141, 3142, 3143],
  inet_client_addr: [2196],
  inet_client_port: [2197],
  inet_server_addr: [2198],
  inet_server_port: [2199],
  lastval: [2559],
  nextval: [1574],
  obj_description: [1215, 1348],
  pg_backend_pid: [2026],
  pg_collation_is_visible: [3815],
  pg_column_is_updatable: [3843],
  pg_column_size: [1269],
  pg_conf_load_time: [2034],
  pg_current_xact_id: [5059],
  pg_database_size: [2168, 2324],
  pg_describe_object: [3537],
  pg_encoding_to_char: [1597],
  pg_function_is_visible: [2081],
  pg_get_constraintdef: [1387, 2508],
  pg_get_expr: [1716, 2509],
  pg_get_function_arguments: [2162],
  pg_get_function_identity_arguments: [2232],
  pg_get_function_result: [2165],
  pg_get_functiondef: [2098],
  pg_get_indexdef: [1643, 2507],
  pg_get_keywords: [1686],
  pg_get_partkeydef: [3352],
  pg_get_ruledef: [1573, 2504],
  pg_get_serial_sequence: [1665],
  pg_get_statisticsobjdef: [3415],
  pg_get_triggerdef: [1662, 2730],
  pg_get_userbyid: [1642],
  pg_get_viewdef: [1640, 1641, 2505, 2506, 3159],
  pg_has_role: [2705, 2706, 2707, 2708, 2709, 2710],
  pg_identify_object: [3839],
  pg_index_column_has_property: [638],
  pg_index_has_property: [637],
  pg_indexam_has_property: [636],
  pg_indexes_size: [2998],
  pg_is_in_recovery: [3810],
  pg_is_other_temp_schema: [2855],
  pg_my_temp_schema: [2854],
  pg_operator_is_visible: [2082],
  pg_postmaster_start_time: [2560],
  pg_relation_is_updatable: [3842],
  pg_relation_size: [2325, 2332],
  pg_sequence_last_value: [4032],
  pg_size_pretty: [2288, 3166],
  pg_table_is_visible: [2079],
  pg_table_size: [2997],
  pg_tablespace_location: [3778],
  pg_total_relation_size: [2286],
  pg_trigger_depth: [3163],
  pg_type_is_visible: [2080],
  pg_typeof: [1619],
  setval: [1576, 1765],
  shobj_description: [1993],
  to_regclass: [3495],
  to_regnamespace: [4086],
  to_regproc: [3494],
  to_regprocedure: [3479],
  to_regrole: [4093],
  to_regtype: [3493],
  txid_current: [2943],
  txid_current_if_assigned: [3348],
  version: [89],
};

/** Whether the function with this OID is one of the information built-ins (whatever it is called now). */
export function isInformationBuiltinOid(name: string, oid: number): boolean {
  return INFORMATION_FUNCTION_OIDS[name]?.includes(oid) ?? false;
}

/** Functions that store their arguments where later statements read them back. */
const STORING: ReadonlySet<string> = new Set(['setval']);

/**
 * The taint of a call of an information built-in (resolved by OID), or null when `name` is not one.
 * Clean unless an argument is masked; current_setting() is masked once the session ran opaque code.
 */
export async function informationCall(
  name: string,
  schema: string | null | undefined,
  args: readonly ExprTaint[],
  ctx: AnalysisContext,
): Promise<ExprTaint | null> {
  if (!INFORMATION_FUNCTION_OIDS[name]) return null;
  if (schema !== null && schema !== undefined && schema !== 'pg_catalog') return null;
  const candidates = await ctx.catalog.functions(name);
  if (
    candidates.length === 0 ||
    !candidates.every((fn) => isBuiltinObject(fn) && isInformationBuiltinOid(name, fn.oid))
  )
    return null;
  const masked = args.find((a) => fromMaskedData(a.mask));
  if (masked) {
    ctx.facts.touchesMasked = true;
    if (STORING.has(name))
      throw new MaskingDenial(`${name}() would store masked data where later statements read it back unmasked`);
    return { mask: derived(masked.mask, `${name}()`), text: false };
  }
  if (name === 'current_setting' && ctx.settingsTainted) return { mask: maskWhole(SETTINGS_TAINTED), text: false };
  return { mask: { kind: 'raw' }, text: false };
}

/** Why settings read back are masked. */
export const SETTINGS_TAINTED =
  'this session ran code masking cannot see into, which could have put masked data into a setting';

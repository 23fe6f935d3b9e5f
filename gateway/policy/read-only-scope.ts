import type { Policy } from './policy-types.ts';
import { compileRule } from './rule-matcher.ts';
import type { Identity } from './actions-and-decisions.ts';

/** Statement kinds that cannot change data, schema, privileges or the server. */
const READ_ONLY_KINDS: ReadonlySet<string> = new Set(['read', 'transaction', 'utility']);

/**
 * Whether the rules that apply to a connection and identity allow nothing but reads: no allow or
 * review rule can match a write, DDL, privilege, admin or unknown statement (a rule without
 * `when.kind` could match any). Then the gateway also makes the server enforce it: the target
 * session runs read-only, so no function can write, whatever its name says.
 */
export function allowsOnlyReads(policy: Policy, connection: string, identity: Identity): boolean {
  for (const rule of policy.rules) {
    if (rule.action === 'deny') continue;
    const { ssh, ...sql } = rule.when;
    if (ssh !== undefined && Object.keys(sql).length === 0) continue;
    if (!compileRule(rule).appliesTo(connection, identity)) continue;
    if (!rule.when.kind || rule.when.kind.some((kind) => !READ_ONLY_KINDS.has(kind))) return false;
  }
  return true;
}

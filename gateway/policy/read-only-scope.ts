import type { Identity } from './actions-and-decisions.ts';
import { namespacesOfRule } from './facts/fact-namespace.ts';
import { FACT_NAMESPACES } from './facts/namespaces.ts';
import { SQL_FACTS, sqlKindsOf } from './facts/sql-namespace.ts';
import type { Policy } from './policy-types.ts';
import { compileRule } from './rule-matcher.ts';

/** Statement kinds that cannot change data, schema, privileges or the server. */
const READ_ONLY_KINDS: ReadonlySet<string> = new Set(['read', 'transaction', 'utility']);

/**
 * Whether the rules that apply to a connection and identity allow nothing but reads: no allow or
 * review rule can match a write, DDL, privilege, admin or unknown statement (a rule without
 * `when.kind` could match any; a rule naming only another protocol's facts matches no statement).
 * Then the gateway also makes the server enforce it: the target session runs read-only, so no
 * function can write, whatever its name says.
 */
export function allowsOnlyReads(policy: Policy, connection: string, identity: Identity): boolean {
  for (const rule of policy.rules) {
    if (rule.action === 'deny') continue;
    if (!namespacesOfRule(rule.when, FACT_NAMESPACES).includes(SQL_FACTS)) continue;
    if (!compileRule(rule, FACT_NAMESPACES).appliesTo(connection, identity)) continue;
    const kinds = sqlKindsOf(rule.when);
    if (!kinds || kinds.some((kind) => !READ_ONLY_KINDS.has(kind))) return false;
  }
  return true;
}

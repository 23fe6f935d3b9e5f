import { claimAsString, compileClaimPattern } from '../identity/claim-pattern.ts';
import type { Identity } from './actions-and-decisions.ts';
import { namespacesOfRule, type AnyFactNamespace, type FactTest } from './facts/fact-namespace.ts';
import { compileGlobs } from './glob.ts';
import type { PolicyRule } from './policy-types.ts';

/** A rule compiled into predicates, so matching a hot statement allocates nothing. */
export interface CompiledRule {
  rule: PolicyRule;
  /** Connection, identity-rule name and claims: fixed for a session. */
  appliesTo(connection: string, identity: Identity): boolean;
  /**
   * The rule's facts per namespace, in the order of the namespace list; undefined where the rule
   * names another protocol's facts, so it never matches that namespace's actions.
   */
  facts: readonly (FactTest<unknown> | undefined)[];
}

/** Compiles a rule's scope and, for each namespace it applies to, its facts. */
export function compileRule(rule: PolicyRule, namespaces: readonly AnyFactNamespace[]): CompiledRule {
  const connection = compileGlobs(rule.connections);
  const identities = rule.identities && compileGlobs(rule.identities);
  const claims = Object.entries(rule.claims ?? {}).map(([name, pattern]) => ({
    name,
    test: compileClaimPattern(pattern, `rule '${rule.name}' claim '${name}'`),
  }));
  const applicable = new Set(namespacesOfRule(rule.when, namespaces));
  return {
    rule,
    appliesTo(name, identity) {
      if (!connection(name)) return false;
      if (identities && !(identity.identityRule !== undefined && identities(identity.identityRule))) return false;
      return claims.every(({ name: claim, test }) => {
        const value = claimAsString(identity.claims[claim]);
        return value !== undefined && test(value);
      });
    },
    facts: namespaces.map((namespace) => (applicable.has(namespace) ? namespace.compile(rule) : undefined)),
  };
}

import type { Action, Decision, Identity } from './actions-and-decisions.ts';
import {
  ACTION_SEVERITY,
  DEFAULT_DENY_RULE,
  type AnyFactNamespace,
  type Evaluation,
  type NamespaceEvaluator,
  type RuleScope,
} from './facts/fact-namespace.ts';
import { FACT_NAMESPACES } from './facts/namespaces.ts';
import type { Policy } from './policy-types.ts';
import { compileRule, type CompiledRule } from './rule-matcher.ts';
import { effectiveLimits, estimateDecision, readDecision } from './blast-limits.ts';

export interface PolicyEngine {
  /** Pure and synchronous: the decision for one action. */
  decide(action: Action): Decision;
  /** Like decide, with each statement's own decision (a multi-statement query gets the most restrictive). */
  evaluate(action: Action): Evaluation;
  readonly policy: Policy;
}

/** The most restrictive rule whose facts (of namespace `index`) match `subject`. */
function pick(rules: readonly CompiledRule[], index: number, subject: unknown): CompiledRule | undefined {
  let best: CompiledRule | undefined;
  for (const rule of rules) {
    if (!(rule.facts[index]?.matches(subject) ?? false)) continue;
    if (rule.rule.action === 'deny') return rule;
    if (!best || ACTION_SEVERITY[rule.rule.action] > ACTION_SEVERITY[best.rule.action]) best = rule;
  }
  return best;
}

function ruleDecision(rule: CompiledRule): Decision {
  const { name, action, reason, review } = rule.rule;
  const decision: Decision = review
    ? { action, rule: name, reason, review: Object.freeze({ ...review, teams: Object.freeze([...review.teams]) }) }
    : { action, rule: name, reason };
  return Object.freeze(decision);
}

/**
 * Builds the engine for a loaded policy. Rules combine order-independently: among the rules
 * whose scope (connections, identities, claims) and facts match, a deny wins over a review, a
 * review over an allow; among equals the first in file order names the decision. Nothing
 * matching is a deny. Which facts an action has is its namespace's business (`facts/`): the
 * engine dispatches by action type and never branches by protocol.
 */
export function createPolicyEngine(
  policy: Policy,
  namespaces: readonly AnyFactNamespace[] = FACT_NAMESPACES,
): PolicyEngine {
  const compiled = policy.rules.map((rule) => compileRule(rule, namespaces));
  const decisions = new Map(compiled.map((rule) => [rule, ruleDecision(rule)] as const));
  const evaluators = new Map<string, { index: number; evaluator: NamespaceEvaluator<Action, unknown> }>();
  namespaces.forEach((namespace, index) => {
    const evaluator = namespace.createEvaluator();
    for (const type of namespace.actionTypes) evaluators.set(type, { index, evaluator });
  });
  /** Per claims object and identity rule × connection: one scope per namespace over the rules that apply. */
  const scopes = new WeakMap<object, Map<string, RuleScope<unknown>[]>>();

  function scopesFor(connection: string, identity: Identity): RuleScope<unknown>[] {
    const key = identity.claims as object;
    let byConnection = scopes.get(key);
    if (!byConnection) scopes.set(key, (byConnection = new Map()));
    const scopeKey = `${identity.identityRule ?? ''}\u0000${connection}`;
    let scoped = byConnection.get(scopeKey);
    if (!scoped) {
      const rules = compiled.filter((rule) => rule.appliesTo(connection, identity));
      const decide = (index: number) => (subject: unknown) => {
        const rule = pick(rules, index, subject);
        return rule ? decisions.get(rule) : undefined;
      };
      scoped = namespaces.map((_, index) => ({ key: rules, decide: decide(index) }));
      byConnection.set(scopeKey, scoped);
    }
    return scoped;
  }

  function evaluate(action: Action): Evaluation {
    const entry = evaluators.get(action.type);
    if (!entry) {
      const reason = `the policy engine has no facts for ${action.type} actions; it is denied`;
      return { decision: { action: 'deny', rule: DEFAULT_DENY_RULE, reason }, statements: [] };
    }
    const scope = scopesFor(action.connection, action.identity)[entry.index]!;
    const evaluation = entry.evaluator.evaluate(action, scope);
    const bounded = boundedBy(policy, action);
    if (bounded && ACTION_SEVERITY[bounded.action] > ACTION_SEVERITY[evaluation.decision.action])
      return { ...evaluation, decision: bounded };
    return evaluation;
  }

  return { decide: (action) => evaluate(action).decision, evaluate, policy };
}

/**
 * The `limits:` decision on what an action would read or change (undefined: within bounds, or no
 * bound applies). Limits are a policy section of their own, not facts of one namespace: an action
 * that carries estimates or a counted read is judged against them whatever its protocol.
 */
function boundedBy(policy: Policy, action: Action): Decision | undefined {
  if (action.type !== 'pg.query') return undefined;
  const read = action.readOverBound;
  if (read)
    return readDecision(
      policy.limits?.find((l) => l.name === read.limit),
      read.reason,
    );
  if (!action.writeEstimates) return undefined;
  const limits = effectiveLimits(policy.limits, action.connection, action.identity);
  return limits && estimateDecision(limits, action.writeEstimates);
}

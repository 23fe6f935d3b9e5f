import type { StatementAnalysis } from '../../sql/statement-analysis.ts';
import type { Action, Decision, DecisionAction } from '../actions-and-decisions.ts';
import type { PolicyRule, RuleWhen } from '../policy-types.ts';

/** deny beats review beats allow: the most restrictive matching rule decides. */
export const ACTION_SEVERITY = { allow: 0, review: 1, deny: 2 } as const satisfies Record<DecisionAction, number>;

export const DEFAULT_DENY_RULE = 'default-deny';

/** Per-statement outcome, for `policy explain` and the audit log. */
export interface StatementDecision {
  statement: StatementAnalysis;
  decision: Decision;
}

/** A decision with the per-statement detail that led to it (empty for protocols without statements). */
export interface Evaluation {
  decision: Decision;
  statements: StatementDecision[];
}

/**
 * The rules that apply to one connection and identity, as a namespace sees them: it hands over
 * the facts of its action (`subject`) and gets the decision of the most restrictive rule whose
 * facts match, so a namespace never sees rule scopes, severity or other protocols' facts.
 */
export interface RuleScope<S> {
  /** The same object for the same connection and identity rule: a namespace may cache by it. */
  readonly key: object;
  /** The decision of the most restrictive rule whose facts match `subject`; undefined when none does. */
  decide(subject: S): Decision | undefined;
}

/** A rule's facts of one namespace, compiled: true when the subject has every fact the rule names. */
export interface FactTest<S> {
  matches(subject: S): boolean;
}

/** Decides one namespace's actions; created once per engine, so it may keep caches. */
export interface NamespaceEvaluator<A extends Action, S> {
  evaluate(action: A, scope: RuleScope<S>): Evaluation;
}

/**
 * One protocol's policy facts: the `when:` keys it owns, how a rule's facts compile into a test
 * over its subjects, and how one of its actions is decided. The engine only dispatches by action
 * type, so adding a protocol adds a namespace (and a line in `namespaces.ts`) and touches no other.
 *
 * A rule that names facts of no namespace applies to every namespace (empty facts); a rule that
 * names facts of one applies only to that one; a rule naming facts of two can never match.
 */
export interface FactNamespace<A extends Action, S> {
  /** Its key under `when:` (`sql`, `ssh`, `http`). */
  readonly name: string;
  /** The action types it decides; each action type belongs to exactly one namespace. */
  readonly actionTypes: readonly A['type'][];
  /** True when `when` names facts of this namespace. */
  names(when: RuleWhen): boolean;
  /** The rule's facts of this namespace as a test (a rule naming none of them tests nothing). */
  compile(rule: PolicyRule): FactTest<S>;
  createEvaluator(): NamespaceEvaluator<A, S>;
}

/** Any namespace, as the engine holds them: methods keep each one's own action and subject types assignable. */
export type AnyFactNamespace = FactNamespace<Action, unknown>;

/** The namespaces whose facts `when` names. */
export function namespacesNamedBy(when: RuleWhen, namespaces: readonly AnyFactNamespace[]): AnyFactNamespace[] {
  return namespaces.filter((namespace) => namespace.names(when));
}

/** The namespaces a rule applies to: all of them when it names no facts, the one it names, or none. */
export function namespacesOfRule(when: RuleWhen, namespaces: readonly AnyFactNamespace[]): AnyFactNamespace[] {
  const named = namespacesNamedBy(when, namespaces);
  if (named.length === 0) return [...namespaces];
  return named.length === 1 ? named : [];
}

/** The deny of an action no rule matched: names what was asked, where, and the fix. */
export function defaultDeny(reason: string): Decision {
  return { action: 'deny', rule: DEFAULT_DENY_RULE, reason };
}

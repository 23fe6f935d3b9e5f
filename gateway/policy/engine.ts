import { unknownStatement, type StatementAnalysis } from '../sql/statement-analysis.ts';
import type { Policy } from './policy-types.ts';
import { compileRule, type CompiledRule, type SshFacts } from './rule-matcher.ts';
import { k8sFallbackDecision } from '../kubernetes/k8s-rule.ts';
import type { Action, Decision, DecisionAction, HttpRequestAction, Identity } from './types.ts';

/** deny beats review beats allow: the most restrictive matching rule decides. */
export const ACTION_SEVERITY = { allow: 0, review: 1, deny: 2 } as const satisfies Record<DecisionAction, number>;

export const DEFAULT_DENY_RULE = 'default-deny';
export const EMPTY_QUERY_RULE = 'empty-query';

/** Per-statement outcome, for `policy explain` and the audit log. */
export interface StatementDecision {
  statement: StatementAnalysis;
  decision: Decision;
}

/** A decision with the per-statement detail that led to it. */
export interface Evaluation {
  decision: Decision;
  statements: StatementDecision[];
}

export interface PolicyEngine {
  /** Pure and synchronous: the decision for one action. */
  decide(action: Action): Decision;
  /** Like decide, with each statement's own decision (a multi-statement query gets the most restrictive). */
  evaluate(action: Action): Evaluation;
  readonly policy: Policy;
}

/** A FunctionCall message names a function by OID only: the engine treats it as an unanalysable statement. */
const FUNCTION_CALL_REASON =
  'the FunctionCall protocol message calls a function by OID, which the gateway cannot analyse';

/**
 * Builds the engine for a loaded policy. Rules combine order-independently: among the rules
 * whose scope (connections, identities, claims) and facts match, a deny wins over a review, a
 * review over an allow; among equals the first in file order names the decision. Nothing
 * matching is a deny. Statements of kind `unknown` match only rules that list `kind: [unknown]`.
 */
export function createPolicyEngine(policy: Policy): PolicyEngine {
  const compiled = policy.rules.map(compileRule);
  const scopes = new WeakMap<object, Map<string, CompiledRule[]>>();
  const statementCache = new WeakMap<CompiledRule[], WeakMap<StatementAnalysis, Decision>>();

  function rulesFor(connection: string, identity: Identity): CompiledRule[] {
    const key = identity.claims as object;
    let byConnection = scopes.get(key);
    if (!byConnection) scopes.set(key, (byConnection = new Map()));
    const scopeKey = `${identity.identityRule ?? ''}\u0000${connection}`;
    let rules = byConnection.get(scopeKey);
    if (!rules) {
      rules = compiled.filter((rule) => rule.appliesTo(connection, identity));
      byConnection.set(scopeKey, rules);
    }
    return rules;
  }

  function pick(rules: CompiledRule[], matches: (rule: CompiledRule) => boolean): CompiledRule | undefined {
    let best: CompiledRule | undefined;
    for (const rule of rules) {
      if (!matches(rule)) continue;
      if (rule.rule.action === 'deny') return rule;
      if (!best || ACTION_SEVERITY[rule.rule.action] > ACTION_SEVERITY[best.rule.action]) best = rule;
    }
    return best;
  }

  const ruleDecisions = new Map(
    compiled.map((rule) => {
      const { name, action, reason, review } = rule.rule;
      const decision: Decision = review
        ? { action, rule: name, reason, review: Object.freeze({ ...review, teams: Object.freeze([...review.teams]) }) }
        : { action, rule: name, reason };
      return [rule, Object.freeze(decision)] as const;
    }),
  );
  const decisionOf = (rule: CompiledRule): Decision => ruleDecisions.get(rule)!;

  function decideStatement(rules: CompiledRule[], analysis: StatementAnalysis, connection: string): Decision {
    let cache = statementCache.get(rules);
    if (!cache) statementCache.set(rules, (cache = new WeakMap()));
    const cached = cache.get(analysis);
    if (cached) return cached;
    const rule = pick(rules, (r) => r.matchesStatement?.(analysis) ?? false);
    const decision = rule ? decisionOf(rule) : Object.freeze(defaultDeny(analysis, connection));
    cache.set(analysis, decision);
    return decision;
  }

  function evaluate(action: Action): Evaluation {
    const rules = rulesFor(action.connection, action.identity);
    if (action.type === 'pg.query' || action.type === 'mysql.query' || action.type === 'pg.function-call') {
      const statements =
        action.type === 'pg.query' || action.type === 'mysql.query'
          ? action.statements
          : [unknownStatement(`FunctionCall ${action.functionOid}`, FUNCTION_CALL_REASON)];
      if (statements.length === 0) {
        return {
          decision: { action: 'allow', rule: EMPTY_QUERY_RULE, reason: 'an empty query runs nothing' },
          statements: [],
        };
      }
      const results = statements.map((statement) => ({
        statement,
        decision: decideStatement(rules, statement, action.connection),
      }));
      let worst = results[0]!.decision;
      for (const { decision } of results)
        if (ACTION_SEVERITY[decision.action] > ACTION_SEVERITY[worst.action]) worst = decision;
      return { decision: withOrigin(worst, results), statements: results };
    }
    if (action.type === 'http.request') {
      const rule = pick(rules, (r) => r.matchesHttp?.(action) ?? false);
      return { decision: rule ? decisionOf(rule) : httpDefaultDeny(action), statements: [] };
    }
    if (action.type === 'k8s.request') {
      const rule = pick(rules, (r) => r.matchesK8s?.(action.facts) ?? false);
      return { decision: rule ? decisionOf(rule) : k8sFallbackDecision(action), statements: [] };
    }
    const facts = sshFacts(action);
    const rule = pick(rules, (r) => r.matchesSsh?.(facts) ?? false);
    return {
      decision: rule
        ? decisionOf(rule)
        : {
            action: 'deny',
            rule: DEFAULT_DENY_RULE,
            reason: `no policy rule allows ssh ${describeSsh(facts)} on connection '${action.connection}'; add an allow rule with when.ssh for it`,
          },
      statements: [],
    };
  }

  return { decide: (action) => evaluate(action).decision, evaluate, policy };
}

/**
 * A decision made by code the server runs for the client's statement (a function body, a trigger)
 * says where that code came from, so the client sees why its own harmless-looking text was refused.
 */
function withOrigin(decision: Decision, results: readonly StatementDecision[]): Decision {
  if (decision.action === 'allow') return decision;
  const deciding = results.filter((r) => r.decision === decision).map((r) => r.statement);
  const origin = deciding.every((s) => s.origin !== undefined) ? deciding[0]?.origin : undefined;
  return origin ? { ...decision, reason: `${decision.reason} (in ${origin})` } : decision;
}

function defaultDeny(analysis: StatementAnalysis, connection: string): Decision {
  if (analysis.kind === 'unknown') {
    return {
      action: 'deny',
      rule: DEFAULT_DENY_RULE,
      reason: `the gateway cannot analyse this statement (${analysis.unknownReason ?? 'unknown statement'}); it is denied unless a rule allows kind unknown`,
    };
  }
  return {
    action: 'deny',
    rule: DEFAULT_DENY_RULE,
    reason: `no policy rule allows ${analysis.command} on connection '${connection}'; add an allow rule for it`,
  };
}

function httpDefaultDeny(action: HttpRequestAction): Decision {
  const what = action.upgrade ? `a WebSocket upgrade of ${action.path}` : `${action.method} ${action.path}`;
  const fix = action.upgrade ? 'with when.http.upgrade: [websocket]' : 'with when.http for it';
  return {
    action: 'deny',
    rule: DEFAULT_DENY_RULE,
    reason: `no policy rule allows ${what} on connection '${action.connection}'; add an allow rule ${fix}`,
  };
}

function sshFacts(
  action: Exclude<Action, { type: 'pg.query' | 'mysql.query' | 'pg.function-call' | 'http.request' | 'k8s.request' }>,
): SshFacts {
  switch (action.type) {
    case 'ssh.exec':
      return { type: 'exec', argv: action.argv, command: action.command };
    case 'ssh.shell':
      return { type: 'shell', argv: null };
    case 'ssh.subsystem':
      return { type: 'subsystem', argv: null, subsystem: action.name };
    case 'ssh.forward':
      return { type: 'forward', argv: null, forward: action.kind };
    case 'ssh.env':
      return { type: 'env', argv: null, env: action.name };
  }
}

function describeSsh(facts: SshFacts): string {
  if (facts.type === 'exec') return `exec of '${facts.argv?.[0] ?? facts.command?.split(/\s+/)[0] ?? ''}'`;
  if (facts.type === 'subsystem') return `subsystem '${facts.subsystem}'`;
  if (facts.type === 'forward') return `${facts.forward} forwarding`;
  if (facts.type === 'env') return `env ${facts.env}`;
  return 'shell';
}

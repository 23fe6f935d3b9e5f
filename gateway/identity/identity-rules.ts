import { GatehouseError } from '../errors/gatehouse-error.ts';
import type { IdentityRuleSpec } from '../policy/policy-types.ts';
import { claimAsString, compileClaimPattern, type ClaimTest } from './claim-pattern.ts';
import { parseDurationSeconds } from './duration.ts';
import { subjectForms } from './subject-forms.ts';

/** A validated identity rule, ready to match claims many times. */
export interface IdentityRule {
  name: string;
  claims: { name: string; test: ClaimTest }[];
  repositoryId?: string;
  repositoryOwnerId?: string;
  /** Connection-name globs this rule grants. */
  connections: string[];
  maxTtlSeconds?: number;
  allowSelfHosted: boolean;
  allowPullRequestTarget: boolean;
}

/** Outcome of matching claims: the first rule that matched, or every rule tried with its failed claim names. */
export type IdentityMatch =
  { ok: true; rule: IdentityRule } | { ok: false; tried: { rule: string; failedClaims: string[] }[] };

/** Validates `identities:` entries; throws a GatehouseError naming the rule and the fix. */
export function compileIdentityRules(specs: readonly unknown[], where = 'identities'): IdentityRule[] {
  return specs.map((raw, index) => compileRule(raw, `${where}[${index}]`));
}

function compileRule(raw: unknown, where: string): IdentityRule {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new GatehouseError(
      'policy.identity-invalid',
      `${where}: an identity rule must be a mapping with at least 'name' and 'claims'`,
    );
  }
  const spec = raw as IdentityRuleSpec;
  if (typeof spec.name !== 'string' || spec.name === '') {
    throw new GatehouseError('policy.identity-invalid', `${where}: needs a 'name' string`);
  }
  const here = `${where} (${spec.name})`;
  const claimSpecs = spec.claims ?? {};
  if (typeof claimSpecs !== 'object' || Array.isArray(claimSpecs)) {
    throw new GatehouseError('policy.identity-invalid', `${here}: 'claims' must map claim names to values`);
  }
  const claims = Object.entries(claimSpecs).map(([name, pattern]) => {
    const text = claimAsString(pattern);
    if (text === undefined) {
      throw new GatehouseError('policy.identity-invalid', `${here}: claim '${name}' must be a string, glob or /regex/`);
    }
    return { name, test: compileClaimPattern(text, `${here} claim ${name}`) };
  });
  const repositoryId = pin(spec.repository_id, `${here} repository_id`);
  const repositoryOwnerId = pin(spec.repository_owner_id, `${here} repository_owner_id`);
  if (claims.length === 0 && !repositoryId && !repositoryOwnerId) {
    throw new GatehouseError(
      'policy.identity-invalid',
      `${here}: matches every token; add at least one claim (e.g. repository) or a repository_id pin`,
    );
  }
  const connections = spec.connections ?? ['*'];
  if (!Array.isArray(connections) || connections.some((c) => typeof c !== 'string')) {
    throw new GatehouseError(
      'policy.identity-invalid',
      `${here}: 'connections' must be a list of connection names or globs`,
    );
  }
  return {
    name: spec.name,
    claims,
    repositoryId,
    repositoryOwnerId,
    connections,
    maxTtlSeconds:
      spec.max_ttl === undefined ? undefined : parseDurationSeconds(String(spec.max_ttl), `${here} max_ttl`),
    allowSelfHosted: spec.allow_self_hosted === true,
    allowPullRequestTarget: spec.allow_pull_request_target === true,
  };
}

function pin(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  const text = claimAsString(value);
  if (text === undefined || !/^\d+$/.test(text)) {
    throw new GatehouseError(
      'policy.identity-invalid',
      `${where}: must be a numeric id such as "123456" (see the repository's API response)`,
    );
  }
  return text;
}

/** Names of the claims of `claims` that `rule` refuses; empty when the rule matches. */
export function failedClaims(rule: IdentityRule, claims: Readonly<Record<string, unknown>>): string[] {
  const failed: string[] = [];
  for (const condition of rule.claims) {
    const values = condition.name === 'sub' ? subjectForms(claims) : [claimAsString(claims[condition.name])];
    if (!values.some((value) => value !== undefined && condition.test(value))) failed.push(condition.name);
  }
  if (rule.repositoryId !== undefined && claimAsString(claims.repository_id) !== rule.repositoryId)
    failed.push('repository_id');
  if (rule.repositoryOwnerId !== undefined && claimAsString(claims.repository_owner_id) !== rule.repositoryOwnerId) {
    failed.push('repository_owner_id');
  }
  if (!rule.allowSelfHosted && claims.runner_environment !== 'github-hosted') failed.push('runner_environment');
  if (!rule.allowPullRequestTarget && claims.event_name === 'pull_request_target') failed.push('event_name');
  return [...new Set(failed)];
}

/** Matches claims against rules: AND inside a rule, OR across rules, first match wins. */
export function matchIdentity(
  rules: readonly IdentityRule[],
  claims: Readonly<Record<string, unknown>>,
): IdentityMatch {
  const tried: { rule: string; failedClaims: string[] }[] = [];
  for (const rule of rules) {
    const failed = failedClaims(rule, claims);
    if (failed.length === 0) return { ok: true, rule };
    tried.push({ rule: rule.name, failedClaims: failed });
  }
  return { ok: false, tried };
}

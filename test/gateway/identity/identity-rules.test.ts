import { describe, expect, it } from 'vitest';
import { githubLikeClaims } from '../../../gateway/identity/dev-issuer.ts';
import { compileIdentityRules, matchIdentity } from '../../../gateway/identity/identity-rules.ts';

const claims = (overrides: Record<string, unknown> = {}) => githubLikeClaims({ repository: 'acme/app', ...overrides });

function match(rules: unknown[], overrides: Record<string, unknown> = {}) {
  return matchIdentity(compileIdentityRules(rules), claims(overrides));
}

describe('identity rules', () => {
  it('matches exact values, globs and anchored regexes per claim', () => {
    expect(match([{ name: 'exact', claims: { repository: 'acme/app' } }]).ok).toBe(true);
    expect(match([{ name: 'glob', claims: { repository: 'acme/*' } }]).ok).toBe(true);
    expect(match([{ name: 'regex', claims: { ref: '/refs/heads/(main|master)/' } }]).ok).toBe(true);
    expect(match([{ name: 'anchored', claims: { ref: '/heads/main/' } }]).ok).toBe(false);
    expect(match([{ name: 'glob-slash', claims: { ref: 'refs/heads/*' } }], { ref: 'refs/heads/feature/x' }).ok).toBe(
      false,
    );
    expect(match([{ name: 'globstar', claims: { ref: 'refs/heads/**' } }], { ref: 'refs/heads/feature/x' }).ok).toBe(
      true,
    );
  });

  it('requires every claim of a rule and reports each failed claim name', () => {
    const result = match([
      { name: 'both', claims: { repository: 'acme/other', ref: 'refs/heads/dev', actor: 'octocat' } },
    ]);
    expect(result).toEqual({ ok: false, tried: [{ rule: 'both', failedClaims: ['repository', 'ref'] }] });
  });

  it('takes the first of several rules that matches', () => {
    const result = match([
      { name: 'first', claims: { repository: 'acme/nope' } },
      { name: 'second', claims: { repository: 'acme/app' } },
      { name: 'third', claims: { repository: 'acme/*' } },
    ]);
    expect(result.ok && result.rule.name).toBe('second');
  });

  it('treats a missing claim as failed', () => {
    expect(match([{ name: 'env', claims: { environment: 'production' } }])).toMatchObject({
      ok: false,
      tried: [{ failedClaims: ['environment'] }],
    });
  });

  it('pins repository_id and repository_owner_id numerically', () => {
    expect(
      match([{ name: 'pin', claims: { repository: 'acme/app' }, repository_id: 123456, repository_owner_id: '7890' }])
        .ok,
    ).toBe(true);
    expect(match([{ name: 'pin', claims: { repository: 'acme/app' }, repository_id: '999' }])).toMatchObject({
      ok: false,
      tried: [{ failedClaims: ['repository_id'] }],
    });
  });

  it('matches sub written in the name form against a token using immutable ids, and the reverse', () => {
    const named = [{ name: 'named', claims: { sub: 'repo:acme/app:ref:refs/heads/main' } }];
    const immutable = [{ name: 'ids', claims: { sub: 'repo:acme@7890/app@123456:ref:refs/heads/main' } }];
    expect(match(named, { sub: 'repo:acme@7890/app@123456:ref:refs/heads/main' }).ok).toBe(true);
    expect(match(immutable, { sub: 'repo:acme/app:ref:refs/heads/main' }).ok).toBe(true);
    expect(match(immutable, { sub: 'repo:acme/app:ref:refs/heads/main', repository_id: '1' }).ok).toBe(false);
    expect(match(named, { sub: 'repo:acme/app:pull_request' }).ok).toBe(false);
  });

  it('refuses self-hosted runners and pull_request_target runs unless the rule allows them', () => {
    const strict = [{ name: 'strict', claims: { repository: 'acme/app' } }];
    expect(match(strict, { runner_environment: 'self-hosted' })).toMatchObject({
      ok: false,
      tried: [{ failedClaims: ['runner_environment'] }],
    });
    expect(match(strict, { runner_environment: undefined })).toMatchObject({
      ok: false,
      tried: [{ failedClaims: ['runner_environment'] }],
    });
    expect(match(strict, { event_name: 'pull_request_target' })).toMatchObject({
      ok: false,
      tried: [{ failedClaims: ['event_name'] }],
    });
    const lenient = [
      { name: 'lenient', claims: { repository: 'acme/app' }, allow_self_hosted: true, allow_pull_request_target: true },
    ];
    expect(match(lenient, { runner_environment: 'self-hosted', event_name: 'pull_request_target' }).ok).toBe(true);
  });

  it('rejects rules that would match every token, bad regexes and bad pins with a message naming the rule', () => {
    expect(() => compileIdentityRules([{ name: 'open' }])).toThrow(/open.*matches every token/);
    expect(() => compileIdentityRules([{ name: 're', claims: { ref: '/(/' } }])).toThrow(
      /re.*not a valid regular expression/,
    );
    expect(() => compileIdentityRules([{ name: 'pin', claims: { a: 'b' }, repository_id: 'acme' }])).toThrow(
      /numeric id/,
    );
    expect(() => compileIdentityRules([{ name: 'ttl', claims: { a: 'b' }, max_ttl: 'soon' }])).toThrow(/duration/);
    expect(() => compileIdentityRules(['text'])).toThrow(/mapping/);
  });

  it('compiles max_ttl to seconds and defaults connections to all', () => {
    const [rule] = compileIdentityRules([{ name: 'r', claims: { repository: 'acme/app' }, max_ttl: '15m' }]);
    expect(rule).toMatchObject({ maxTtlSeconds: 900, connections: ['*'] });
  });
});

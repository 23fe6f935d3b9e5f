import { beforeAll, describe, expect, it } from 'vitest';
import { impersonationOf, k8sFacts } from '../../../gateway/kubernetes/k8s-facts.ts';
import { resolveRequestInfo } from '../../../gateway/kubernetes/request-info.ts';
import { checkKubePath } from '../../../gateway/kubernetes/request-path.ts';
import { createPolicyEngine } from '../../../gateway/policy/engine.ts';
import { parsePolicyFiles } from '../../../gateway/policy/load-policies.ts';
import type { Action } from '../../../gateway/policy/actions-and-decisions.ts';
import { analyzeSql, loadSqlParser } from '../../../gateway/sql/analyze-sql.ts';

const identity = { sessionId: 's', claims: { repository: 'acme/app' } };

function engineOf(rules: string) {
  return createPolicyEngine(parsePolicyFiles([{ file: 'k8s.yaml', text: `rules:\n${rules}` }]));
}

function k8s(method: string, target: string, discovery = false): Action {
  const path = checkKubePath(target);
  if (!path.ok) throw new Error(path.refusal.message);
  const info = resolveRequestInfo(method, path.value);
  if (!info.ok) throw new Error(info.refusal.message);
  const facts = k8sFacts(info.value, path.value, null, impersonationOf({}));
  return { type: 'k8s.request', connection: 'cluster', identity, facts, discovery };
}

beforeAll(async () => {
  await loadSqlParser();
});

describe('when.k8s in the policy engine', () => {
  it('decides Kubernetes requests by when.k8s, deny over allow', () => {
    const engine = engineOf(`
  - { name: reads, action: allow, when: { k8s: { verbs: [get, list] } }, reason: r }
  - { name: no-secrets, action: deny, when: { k8s: { resources: [secrets] } }, reason: s }
`);
    expect(engine.decide(k8s('GET', '/api/v1/namespaces/ci/pods')).rule).toBe('reads');
    expect(engine.decide(k8s('GET', '/api/v1/namespaces/ci/secrets/db'))).toMatchObject({
      action: 'deny',
      rule: 'no-secrets',
    });
  });

  it('never lets a SQL or SSH rule decide a Kubernetes request, nor a k8s rule a SQL statement', () => {
    const engine = engineOf(`
  - { name: sql-reads, action: allow, when: { kind: [read] }, reason: r }
  - { name: ssh-ls, action: allow, when: { ssh: { program: [ls] } }, reason: r }
  - { name: k8s-all, action: allow, connections: [cluster], when: { k8s: { verbs: ['*'] } }, reason: r }
`);
    const sql: Action = {
      type: 'pg.query',
      via: 'simple',
      sql: 'DELETE FROM t WHERE id = 1',
      connection: 'db',
      identity,
      statements: analyzeSql('DELETE FROM t WHERE id = 1'),
    };
    expect(engine.decide(sql).rule).toBe('default-deny');
    const other = engineOf(`  - { name: sql-reads, action: allow, when: { kind: [read] }, reason: r }`);
    expect(other.decide(k8s('GET', '/api/v1/namespaces/ci/pods')).rule).toBe('default-deny');
  });

  it('allows discovery without a rule, and names the marker a denied exec needs', () => {
    const engine = engineOf(`  - { name: writes, action: allow, when: { k8s: { verbs: [create] } }, reason: r }`);
    expect(engine.decide(k8s('GET', '/apis', true))).toMatchObject({ action: 'allow', rule: 'k8s-discovery' });
    const exec = engine.decide(k8s('POST', '/api/v1/namespaces/ci/pods/web/exec?command=sh'));
    expect(exec).toMatchObject({ action: 'deny', rule: 'default-deny' });
    expect(exec.reason).toContain('names exec');
  });

  it('lets a deny rule without facts stop every Kubernetes request of its connection', () => {
    const engine = engineOf(`
  - { name: reads, action: allow, when: { k8s: { verbs: [get] } }, reason: r }
  - { name: frozen, action: deny, connections: [cluster], reason: frozen }
`);
    expect(engine.decide(k8s('GET', '/api/v1/namespaces/ci/pods/web')).rule).toBe('frozen');
  });
});

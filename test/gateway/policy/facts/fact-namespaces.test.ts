import { beforeAll, describe, expect, it } from 'vitest';
import type { Action, Identity } from '../../../../gateway/policy/actions-and-decisions.ts';
import { createPolicyEngine } from '../../../../gateway/policy/engine.ts';
import { defaultDeny, type FactNamespace } from '../../../../gateway/policy/facts/fact-namespace.ts';
import { FACT_NAMESPACES } from '../../../../gateway/policy/facts/namespaces.ts';
import { lintPolicy } from '../../../../gateway/policy/lint-policy.ts';
import { parsePolicyFiles } from '../../../../gateway/policy/load-policies.ts';
import { allowsOnlyReads } from '../../../../gateway/policy/read-only-scope.ts';
import { analyzeSql, loadSqlParser } from '../../../../gateway/sql/analyze-sql.ts';

beforeAll(async () => {
  await loadSqlParser();
});

const identity: Identity = { sessionId: 's1', claims: { repository: 'acme/app' }, identityRule: 'ci' };
const policyOf = (yaml: string) => parsePolicyFiles([{ file: 'p.yaml', text: yaml }]);

const pg = (sql: string): Action => ({
  type: 'pg.query',
  via: 'simple',
  sql,
  statements: analyzeSql(sql),
  connection: 'db',
  identity,
});
const mysql = (sql: string): Action => ({
  type: 'mysql.query',
  via: 'text',
  sql,
  statements: analyzeSql(sql),
  connection: 'db',
  identity,
});
const ssh = (command: string): Action => ({
  type: 'ssh.exec',
  command,
  argv: command.split(' '),
  connection: 'db',
  identity,
});
const http = (path: string): Action => ({
  type: 'http.request',
  method: 'GET',
  path,
  queryKeys: [],
  contentType: null,
  body: { kind: 'none' },
  upgrade: null,
  connection: 'db',
  identity,
});

describe('policy facts per protocol namespace', () => {
  it('decides SQL facts under when.sql exactly as at the top level, for every SQL dialect', () => {
    const topLevel = createPolicyEngine(policyOf('rules: [{ name: r, action: allow, when: { kind: [read] } }]'));
    const nested = createPolicyEngine(policyOf('rules: [{ name: r, action: allow, when: { sql: { kind: [read] } } }]'));
    for (const action of [pg('SELECT 1'), mysql('SELECT 1'), pg('DELETE FROM t'), mysql('DROP TABLE t')]) {
      expect(nested.decide(action)).toEqual(topLevel.decide(action));
    }
    expect(nested.decide(mysql('SELECT 1'))).toMatchObject({ action: 'allow', rule: 'r' });
    expect(nested.decide(pg('DELETE FROM t'))).toMatchObject({ action: 'deny', rule: 'default-deny' });
  });

  it('ANDs the top-level and the when.sql form of one rule', () => {
    const engine = createPolicyEngine(
      policyOf('rules: [{ name: r, action: allow, when: { kind: [read, write], sql: { tables: [orders] } } }]'),
    );
    expect(engine.decide(pg('SELECT * FROM orders'))).toMatchObject({ action: 'allow' });
    expect(engine.decide(pg('SELECT * FROM customers'))).toMatchObject({ action: 'deny' });
  });

  it("applies a rule with one protocol's facts only to that protocol, and a rule without facts to all", () => {
    const engine = createPolicyEngine(
      policyOf(`
rules:
  - { name: sql-only, action: deny, when: { kind: [read] } }
  - { name: ssh-only, action: deny, when: { ssh: { program: [ls] } } }
  - { name: http-only, action: deny, when: { http: { path: [/x] } } }
  - { name: everything, action: allow }
`),
    );
    expect(engine.decide(pg('SELECT 1')).rule).toBe('sql-only');
    expect(engine.decide(ssh('ls -l')).rule).toBe('ssh-only');
    expect(engine.decide(http('/x')).rule).toBe('http-only');
    expect(engine.decide(ssh('uptime')).rule).toBe('everything');
    expect(engine.decide(http('/y')).rule).toBe('everything');
    expect(engine.decide(pg('INSERT INTO t VALUES (1)')).rule).toBe('everything');
  });

  it('never matches a rule mixing two protocols, and policy check says so', () => {
    const policy = policyOf(
      'rules: [{ name: mixed, action: allow, when: { ssh: { program: [ls] }, http: { path: [/x] } } }]',
    );
    const engine = createPolicyEngine(policy);
    expect(engine.decide(ssh('ls')).rule).toBe('default-deny');
    expect(engine.decide(http('/x')).rule).toBe('default-deny');
    expect(lintPolicy(policy).map((f) => f.message)).toContainEqual(
      expect.stringMatching(/mixes facts of several protocols \(ssh, http\), so it can never match/),
    );
  });

  it('adds a protocol by adding its namespace, leaving the other protocols decided as before', () => {
    const ping: FactNamespace<Action, Action> = {
      name: 'ping',
      actionTypes: ['ssh.shell'],
      names: () => false,
      compile: (rule) => ({ matches: () => rule.name === 'pings' }),
      createEvaluator: () => ({
        evaluate: (action, scope) => ({ decision: scope.decide(action) ?? defaultDeny('no ping'), statements: [] }),
      }),
    };
    const policy = policyOf(
      'rules: [{ name: pings, action: allow }, { name: reads, action: allow, when: { kind: [read] } }]',
    );
    const sqlAndPing = createPolicyEngine(policy, [FACT_NAMESPACES[0]!, ping]);
    const shell: Action = { type: 'ssh.shell', connection: 'db', identity };
    expect(sqlAndPing.decide(shell)).toMatchObject({ action: 'allow', rule: 'pings' });
    expect(sqlAndPing.decide(pg('SELECT 1'))).toEqual(createPolicyEngine(policy).decide(pg('SELECT 1')));
  });

  it('denies an action type no namespace decides (fail closed)', () => {
    const engine = createPolicyEngine(policyOf('rules: [{ name: all, action: allow }]'), [FACT_NAMESPACES[0]!]);
    expect(engine.decide(ssh('ls'))).toMatchObject({ action: 'deny', rule: 'default-deny' });
    expect(engine.decide(ssh('ls')).reason).toMatch(/no facts for ssh.exec actions/);
  });

  it('treats when.sql kinds like top-level kinds for the read-only session', () => {
    expect(
      allowsOnlyReads(policyOf('rules: [{ name: r, action: allow, when: { sql: { kind: [read] } } }]'), 'db', identity),
    ).toBe(true);
    expect(
      allowsOnlyReads(
        policyOf('rules: [{ name: r, action: allow, when: { sql: { kind: [write] } } }]'),
        'db',
        identity,
      ),
    ).toBe(false);
    expect(
      allowsOnlyReads(
        policyOf(
          'rules: [{ name: r, action: allow, when: { ssh: { program: [ls] } } }, { name: q, action: allow, when: { kind: [read] } }]',
        ),
        'db',
        identity,
      ),
    ).toBe(true);
  });
});

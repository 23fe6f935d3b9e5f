import { beforeAll, describe, expect, it } from 'vitest';
import { createPolicyEngine } from '../../../gateway/policy/engine.ts';
import { parsePolicyFiles } from '../../../gateway/policy/load-policies.ts';
import type { Action, Identity } from '../../../gateway/policy/actions-and-decisions.ts';
import { analyzeSql, loadSqlParser } from '../../../gateway/sql/analyze-sql.ts';

beforeAll(async () => {
  await loadSqlParser();
});

const identity: Identity = {
  sessionId: 's1',
  claims: { repository: 'acme/app', ref: 'refs/heads/main' },
  identityRule: 'main-deploys',
};

function engineFor(yaml: string) {
  return createPolicyEngine(parsePolicyFiles([{ file: 'test.yaml', text: yaml }]));
}

function query(sql: string, connection = 'app-db', who: Identity = identity): Action {
  return { type: 'pg.query', via: 'simple', sql, statements: analyzeSql(sql), connection, identity: who };
}

const BASE = `
rules:
  - name: allow-reads
    action: allow
    when: { kind: [read] }
  - name: allow-writes
    action: allow
    when: { kind: [write] }
  - name: review-deletes
    action: review
    when: { command: [DELETE] }
    reason: deletes wait for a reviewer
    review: { timeout: 5m, min_permission: maintain, approvals: 2, window: 30m, teams: [acme/dba] }
  - name: no-customers-writes
    action: deny
    when: { tables_written: [customers] }
    reason: customers are read-only
`;

describe('createPolicyEngine', () => {
  it('denies what no rule matches, naming default-deny and the command', () => {
    const decision = engineFor(BASE).decide(query('CREATE TABLE t (id int)'));
    expect(decision).toMatchObject({ action: 'deny', rule: 'default-deny' });
    expect(decision.reason).toMatch(/CREATE TABLE/);
  });

  it('lets a deny beat a review and a review beat an allow, whatever the file order', () => {
    const engine = engineFor(BASE);
    expect(engine.decide(query('DELETE FROM orders WHERE id = 1'))).toMatchObject({
      action: 'review',
      rule: 'review-deletes',
    });
    expect(engine.decide(query('DELETE FROM public.customers WHERE id = 1'))).toMatchObject({
      action: 'deny',
      rule: 'no-customers-writes',
      reason: 'customers are read-only',
    });
    expect(engine.decide(query('UPDATE orders SET total = 1 WHERE id = 1'))).toMatchObject({
      action: 'allow',
      rule: 'allow-writes',
    });
  });

  it('carries the review settings of the rule, in seconds', () => {
    const decision = engineFor(BASE).decide(query('DELETE FROM orders WHERE id = 1'));
    expect(decision.review).toEqual({
      timeoutSeconds: 300,
      minPermission: 'maintain',
      approvals: 2,
      windowSeconds: 1800,
      teams: ['acme/dba'],
    });
  });

  it('gives a multi-statement query the most restrictive statement decision', () => {
    const evaluation = engineFor(BASE).evaluate(query('SELECT 1; DELETE FROM orders WHERE id = 1; SELECT 2'));
    expect(evaluation.decision.rule).toBe('review-deletes');
    expect(evaluation.statements.map((s) => s.decision.action)).toEqual(['allow', 'review', 'allow']);
    expect(engineFor(BASE).decide(query('SELECT 1; DROP TABLE orders'))).toMatchObject({
      action: 'deny',
      rule: 'default-deny',
    });
  });

  it('allows an empty query, which runs nothing', () => {
    expect(engineFor(BASE).decide(query('-- nothing'))).toMatchObject({ action: 'allow', rule: 'empty-query' });
  });

  it('does not let a rule without kind unknown allow an unanalysable statement', () => {
    const engine = engineFor('rules:\n  - { name: everything, action: allow }');
    expect(engine.decide(query('SELECT 1'))).toMatchObject({ action: 'allow', rule: 'everything' });
    const decision = engine.decide(query('DO $$ BEGIN END $$'));
    expect(decision).toMatchObject({ action: 'deny', rule: 'default-deny' });
    expect(decision.reason).toMatch(/cannot analyse.*DO blocks/);
  });

  it('allows unknown statements and the FunctionCall message only through a rule naming kind unknown', () => {
    const engine = engineFor('rules:\n  - { name: trust-unknown, action: allow, when: { kind: [unknown] } }');
    expect(engine.decide(query('DO $$ BEGIN END $$'))).toMatchObject({ action: 'allow', rule: 'trust-unknown' });
    expect(
      engine.decide({ type: 'pg.function-call', functionOid: 1234, connection: 'app-db', identity }),
    ).toMatchObject({ action: 'allow' });
    expect(
      engineFor(BASE).decide({ type: 'pg.function-call', functionOid: 1234, connection: 'app-db', identity }),
    ).toMatchObject({ action: 'deny', rule: 'default-deny' });
  });

  it('scopes rules by connection glob, identity-rule name and claims', () => {
    const engine = engineFor(`
rules:
  - { name: prod-reads, action: allow, connections: ["prod-*"], identities: [main-deploys], claims: { ref: refs/heads/main }, when: { kind: [read] } }
`);
    expect(engine.decide(query('SELECT 1', 'prod-db'))).toMatchObject({ action: 'allow' });
    expect(engine.decide(query('SELECT 1', 'staging-db')).action).toBe('deny');
    expect(engine.decide(query('SELECT 1', 'prod-db', { ...identity, identityRule: 'pr-builds' })).action).toBe('deny');
    expect(
      engine.decide(query('SELECT 1', 'prod-db', { ...identity, claims: { ref: 'refs/heads/feature' } })).action,
    ).toBe('deny');
  });

  it('matches tables, functions and flags by their facts, not their spelling', () => {
    const engine = engineFor(`
rules:
  - { name: reads, action: allow, when: { kind: [read] } }
  - { name: no-secrets, action: deny, when: { tables: ["secrets"] } }
  - { name: no-sleep, action: deny, when: { functions: [pg_sleep] } }
  - { name: no-locks, action: deny, when: { flags: [locking_clause] } }
`);
    expect(engine.decide(query('SELECT * FROM "secrets"')).rule).toBe('no-secrets');
    expect(engine.decide(query('SELECT * FROM app.secrets s')).rule).toBe('no-secrets');
    expect(engine.decide(query("SELECT 'secrets', pg_sleep_for('1s')")).rule).toBe('reads');
    expect(engine.decide(query('SELECT pg_catalog.pg_sleep(1)')).rule).toBe('no-sleep');
    expect(engine.decide(query('SELECT * FROM orders FOR UPDATE')).rule).toBe('no-locks');
  });

  it('does not let a same-named function in another schema pass an only_functions allow-list', () => {
    const engine = engineFor(
      'rules:\n  - { name: pure, action: allow, when: { kind: [read], only_functions: [lower, count] } }',
    );
    expect(engine.decide(query('SELECT lower(name), count(*) FROM customers GROUP BY 1')).action).toBe('allow');
    expect(engine.decide(query('SELECT pg_catalog.lower(name) FROM customers')).action).toBe('allow');
    expect(engine.decide(query('SELECT evil.lower(name) FROM customers')).action).toBe('deny');
    expect(engine.decide(query("SELECT nextval('s')")).action).toBe('deny');
  });

  it('returns the same decision for the same cached statement', () => {
    const engine = engineFor(BASE);
    const action = query('SELECT 1');
    expect(engine.decide(action)).toBe(engine.decide(action));
  });
});

describe('SSH decisions', () => {
  const SSH = `
rules:
  - { name: deploy-scripts, action: allow, connections: [deploy-host], when: { ssh: { type: [exec], program: [deploy.sh, "/opt/app/bin/*"] } } }
  - { name: sftp, action: allow, connections: [deploy-host], when: { ssh: { subsystem: [sftp] } } }
  - { name: no-rm, action: deny, when: { ssh: { command: ["rm *"] } } }
  - { name: sql-only, action: allow, when: { kind: [read] } }
`;
  const ssh = (extra: Record<string, unknown>) => ({ connection: 'deploy-host', identity, ...extra }) as Action;

  it('allows an exec whose program matches, by base name or full path', () => {
    const engine = engineFor(SSH);
    expect(
      engine.decide(ssh({ type: 'ssh.exec', command: './deploy.sh prod', argv: ['./deploy.sh', 'prod'] })),
    ).toMatchObject({ action: 'allow', rule: 'deploy-scripts' });
    expect(
      engine.decide(ssh({ type: 'ssh.exec', command: '/opt/app/bin/migrate', argv: ['/opt/app/bin/migrate'] })).action,
    ).toBe('allow');
    expect(
      engine.decide(ssh({ type: 'ssh.exec', command: 'cat /etc/shadow', argv: ['cat', '/etc/shadow'] })).action,
    ).toBe('deny');
  });

  it('does not allow a command that cannot be split safely, even if it starts with an allowed program', () => {
    const decision = engineFor(SSH).decide(ssh({ type: 'ssh.exec', command: 'deploy.sh; rm -rf /', argv: null }));
    expect(decision.action).toBe('deny');
  });

  it('lets deny rules test the raw text of commands that cannot be split', () => {
    expect(engineFor(SSH).decide(ssh({ type: 'ssh.exec', command: 'rm -rf / && echo', argv: null }))).toMatchObject({
      action: 'deny',
      rule: 'no-rm',
    });
  });

  it('denies shells, forwarding and env unless a rule lists those types', () => {
    const engine = engineFor(
      `${SSH}  - { name: any-ssh, action: allow, connections: [deploy-host], when: { ssh: {} } }\n`,
    );
    expect(engine.decide(ssh({ type: 'ssh.shell' })).action).toBe('deny');
    expect(engine.decide(ssh({ type: 'ssh.forward', kind: 'agent' })).action).toBe('deny');
    expect(engine.decide(ssh({ type: 'ssh.env', name: 'LD_PRELOAD', value: 'x' })).action).toBe('deny');
    expect(engine.decide(ssh({ type: 'ssh.subsystem', name: 'sftp' })).action).toBe('allow');
    const shells = engineFor('rules:\n  - { name: shells, action: allow, when: { ssh: { type: [shell] } } }');
    expect(shells.decide(ssh({ type: 'ssh.shell' }))).toMatchObject({ action: 'allow', rule: 'shells' });
  });

  it('never applies PostgreSQL facts to SSH actions or SSH facts to SQL', () => {
    const engine = engineFor(SSH);
    expect(engine.decide(query('SELECT 1', 'deploy-host')).rule).toBe('sql-only');
    expect(engine.decide(ssh({ type: 'ssh.exec', command: 'ls', argv: ['ls'] })).rule).toBe('default-deny');
  });
});

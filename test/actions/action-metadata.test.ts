import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createPolicyEngine } from '../../gateway/policy/engine.ts';
import { parsePolicyFiles } from '../../gateway/policy/load-policies.ts';
import type { Action, HttpRequestAction } from '../../gateway/policy/actions-and-decisions.ts';
import { analyzeSql, loadSqlParser } from '../../gateway/sql/analyze-sql.ts';
import { splitCommandWords } from '../../gateway/ssh/command-words.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => parse(readFileSync(join(ROOT, path), 'utf8')) as Record<string, any>;

describe('action.yml, actions/disconnect and the examples', () => {
  const action = read('action.yml');

  it('passes every input of the composite action to the connect bundle through env', () => {
    const step = action.runs.steps.find((s: { id?: string }) => s.id === 'connect');
    expect(action.runs.using).toBe('composite');
    expect(step.run).toBe('node "$GITHUB_ACTION_PATH/actions/dist/connect.mjs"');
    for (const name of Object.keys(action.inputs)) {
      expect(step.env[`INPUT_${name.toUpperCase().replace(/-/g, '_')}`]).toBe(`\${{ inputs.${name} }}`);
    }
    expect(action.inputs.gateway.required).toBe(true);
    expect(action.inputs['export-env'].default).toBe('true');
    for (const output of Object.values(action.outputs) as { value: string }[])
      expect(output.value).toMatch(/^\$\{\{ steps\.connect\.outputs\.[a-z-]+ \}\}$/);
  });

  it('points the node24 disconnect action at the committed bundle, relative to its own folder', () => {
    const disconnect = read('actions/disconnect/action.yml');
    expect(disconnect.runs.using).toBe('node24');
    expect(existsSync(resolve(ROOT, 'actions/disconnect', disconnect.runs.main))).toBe(true);
    expect(existsSync(join(ROOT, 'actions/dist/connect.mjs'))).toBe(true);
  });

  it('ships example workflows that request id-token: write, use only declared inputs and always disconnect', () => {
    const workflows = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.yml'));
    expect(workflows.length).toBeGreaterThanOrEqual(2);
    for (const file of workflows) {
      const workflow = read(`examples/${file}`);
      expect(workflow.permissions['id-token']).toBe('write');
      for (const job of Object.values(workflow.jobs) as {
        steps: { uses?: string; with?: Record<string, string>; if?: string }[];
      }[]) {
        const connect = job.steps.find((s) => s.uses?.endsWith('/gatehouse@v1'))!;
        expect(Object.keys(connect.with!).every((key) => key in action.inputs)).toBe(true);
        const disconnect = job.steps.find((s) => s.uses?.endsWith('/gatehouse/actions/disconnect@v1'))!;
        expect(disconnect.if).toBe('always()');
        expect(job.steps.indexOf(disconnect)).toBe(job.steps.length - 1);
      }
    }
  });

  it('ships example policies that the gateway loads: a review rule for migrations, read-only analytics, listed deploy commands, an HTTP release', () => {
    const load = (file: string) =>
      parsePolicyFiles([{ file, text: readFileSync(join(ROOT, 'examples', file), 'utf8') }]);
    const migrate = load('migrate-on-main.policy.yaml');
    expect(migrate.rules.some((rule) => rule.action === 'review')).toBe(true);
    expect(migrate.identities.map((i) => i.name)).toEqual(['main-migrations']);
    const deploy = load('deploy-over-ssh.policy.yaml');
    expect(deploy.rules.map((rule) => rule.action)).toEqual(['allow']);
    const release = createPolicyEngine(load('release-over-http.policy.yaml'));
    const request = (method: string, path: string, body: HttpRequestAction['body'] = { kind: 'none' }) =>
      release.decide({
        type: 'http.request',
        connection: 'deploy-api',
        identity: { sessionId: 's', claims: {}, identityRule: 'main-releases' },
        method,
        path,
        queryKeys: [],
        contentType: body.kind === 'json' ? 'application/json' : null,
        body,
        upgrade: null,
      }).action;
    expect(request('GET', '/v1/services/app')).toBe('allow');
    expect(request('POST', '/v1/deploys', { kind: 'json', value: { version: '1' } })).toBe('review');
    expect(request('POST', '/v1/deploys', { kind: 'json', value: { force: true } })).toBe('deny');
    expect(request('DELETE', '/v1/services/app')).toBe('deny');
    const analytics = load('analytics-on-pr.policy.yaml');
    expect(
      analytics.rules
        .filter((rule) => rule.action === 'allow')
        .every((rule) => rule.when.kind?.every((k) => k === 'read' || k === 'transaction')),
    ).toBe(true);
  });

  describe('decide what their comments promise', () => {
    beforeAll(() => loadSqlParser());
    const engine = (file: string) =>
      createPolicyEngine(parsePolicyFiles([{ file, text: readFileSync(join(ROOT, 'examples', file), 'utf8') }]));
    const sql = (connection: string, identityRule: string, text: string): Action => ({
      type: 'pg.query',
      via: 'simple',
      sql: text,
      statements: analyzeSql(text),
      connection,
      identity: { sessionId: 's', identityRule, claims: {} },
    });
    const exec = (command: string): Action => ({
      type: 'ssh.exec',
      command,
      argv: splitCommandWords(command),
      connection: 'deploy-host',
      identity: { sessionId: 's', identityRule: 'main-deploys', claims: {} },
    });

    it('lets migrations write, holds schema changes for review and refuses drops', () => {
      const migrate = engine('migrate-on-main.policy.yaml');
      const decide = (text: string) => migrate.decide(sql('app-db', 'main-migrations', text)).action;
      expect([
        decide('insert into customers (name) values (1)'),
        decide('alter table customers add column age int'),
        decide('drop table orders'),
      ]).toEqual(['allow', 'review', 'deny']);
    });

    it('lets pull requests read the analytics replica and nothing else', () => {
      const analytics = engine('analytics-on-pr.policy.yaml');
      const decide = (text: string) => analytics.decide(sql('analytics-db', 'pr-analytics', text)).action;
      expect([
        decide('select count(*) from customers'),
        decide('delete from customers'),
        decide('create table t (n int)'),
      ]).toEqual(['allow', 'deny', 'deny']);
    });

    it('lets deploys restart the app and refuses any other command', () => {
      const deploy = engine('deploy-over-ssh.policy.yaml');
      expect([
        deploy.decide(exec('systemctl restart app')).action,
        deploy.decide(exec('systemctl stop app')).action,
        deploy.decide(exec('rm -rf /')).action,
      ]).toEqual(['allow', 'deny', 'deny']);
    });
  });
});

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parsePolicyFiles } from '../../gateway/policy/load-policies.ts';

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
    for (const output of Object.values(action.outputs) as { value: string }[]) expect(output.value).toMatch(/^\$\{\{ steps\.connect\.outputs\.[a-z-]+ \}\}$/);
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
      for (const job of Object.values(workflow.jobs) as { steps: { uses?: string; with?: Record<string, string>; if?: string }[] }[]) {
        const connect = job.steps.find((s) => s.uses?.endsWith('/gatehouse@v1'))!;
        expect(Object.keys(connect.with!).every((key) => key in action.inputs)).toBe(true);
        const disconnect = job.steps.find((s) => s.uses?.endsWith('/gatehouse/actions/disconnect@v1'))!;
        expect(disconnect.if).toBe('always()');
        expect(job.steps.indexOf(disconnect)).toBe(job.steps.length - 1);
      }
    }
  });

  it('ships example policies that the gateway loads, with a review rule for migrations and read-only analytics', () => {
    const load = (file: string) => parsePolicyFiles([{ file, text: readFileSync(join(ROOT, 'examples', file), 'utf8') }]);
    const migrate = load('migrate-on-main.policy.yaml');
    expect(migrate.rules.some((rule) => rule.action === 'review')).toBe(true);
    expect(migrate.identities.map((i) => i.name)).toEqual(['main-migrations']);
    const analytics = load('analytics-on-pr.policy.yaml');
    expect(analytics.rules.filter((rule) => rule.action === 'allow').every((rule) => rule.when.kind?.every((k) => k === 'read' || k === 'transaction'))).toBe(true);
  });
});

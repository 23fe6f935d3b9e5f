import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GatehouseError } from '../../../gateway/errors/gatehouse-error.ts';
import { loadPolicies, parsePolicyFiles } from '../../../gateway/policy/load-policies.ts';

const dirs: string[] = [];
function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-policy-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function errorOf(fn: () => unknown): GatehouseError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GatehouseError) return error;
    throw error;
  }
  throw new Error('expected a GatehouseError');
}

describe('loadPolicies', () => {
  it('combines the YAML files of a folder in file-name order, ignoring sub-folders and other files', () => {
    const dir = folder({
      '20-rules.yaml': 'rules:\n  - { name: second, action: allow }\n',
      '10-identities.yml':
        'identities:\n  - { name: main, claims: { repository: acme/app }, connections: [app-db], max_ttl: 15m }\nrules:\n  - { name: first, action: deny, when: { kind: [admin] } }\n',
      'README.md': '# not policy',
      'examples/other.yaml': 'rules:\n  - { name: ignored, action: allow }\n',
    });
    const policy = loadPolicies(dir);
    expect(policy.rules.map((r) => r.name)).toEqual(['first', 'second']);
    expect(policy.identities).toEqual([
      { name: 'main', claims: { repository: 'acme/app' }, connections: ['app-db'], max_ttl: '15m' },
    ]);
    expect(policy.files.map((f) => path.basename(f))).toEqual(['10-identities.yml', '20-rules.yaml']);
  });

  it('applies rule defaults in one place', () => {
    const [rule] = parsePolicyFiles([{ file: 'p.yaml', text: 'rules:\n  - { name: hold, action: review }\n' }]).rules;
    expect(rule).toMatchObject({
      connections: ['*'],
      when: {},
      reason: "held for review by policy rule 'hold'",
      source: { file: 'p.yaml', line: 2 },
    });
    expect(rule?.review).toEqual({ timeoutSeconds: 600, minPermission: 'write', teams: [], approvals: 1 });
  });

  it('names the file and line of a YAML syntax error', () => {
    const error = errorOf(() =>
      parsePolicyFiles([{ file: 'bad.yaml', text: 'rules:\n  - name: x\n   action: allow\n' }]),
    );
    expect(error.code).toBe('policy.invalid');
    expect(error.message).toMatch(/^bad\.yaml:3: not valid YAML/);
  });

  it('names file, line, key path and fix for schema errors', () => {
    const text =
      'rules:\n  - name: ok\n    action: allow\n  - name: typo\n    action: alow\n    whne: { kind: [read] }\n';
    const error = errorOf(() => parsePolicyFiles([{ file: 'p.yaml', text }]));
    expect(error.message).toContain('p.yaml:5: /rules/1/action must be one of allow, deny, review');
    // The line of the misspelt key itself, where the fix goes.
    expect(error.message).toContain("p.yaml:6: /rules/1 has unknown key 'whne'; remove it or check its spelling");
  });

  it('rejects unknown statement kinds and flags', () => {
    const error = errorOf(() =>
      parsePolicyFiles([
        { file: 'p.yaml', text: 'rules:\n  - { name: r, action: deny, when: { kind: [dml], flags: [no_where] } }\n' },
      ]),
    );
    expect(error.message).toMatch(/\/rules\/0\/when\/kind\/0 must be one of read, write/);
    expect(error.message).toMatch(/\/rules\/0\/when\/flags\/0 must be one of/);
  });

  it('rejects a rule name used twice, naming both places', () => {
    const error = errorOf(() =>
      parsePolicyFiles([
        { file: 'a.yaml', text: 'rules:\n  - { name: same, action: allow }\n' },
        { file: 'b.yaml', text: '\nrules:\n  - { name: same, action: deny }\n' },
      ]),
    );
    expect(error.message).toBe("b.yaml:3: rule 'same' is already defined at a.yaml:2; give each rule a unique name");
  });

  it('rejects an invalid claim regular expression', () => {
    const error = errorOf(() =>
      parsePolicyFiles([{ file: 'p.yaml', text: 'identities:\n  - { name: x, claims: { ref: "/refs/(heads/" } }\n' }]),
    );
    expect(error.message).toMatch(/not a valid regular expression/);
  });

  it('refuses a missing folder and a folder without policy files, saying what to do', () => {
    expect(errorOf(() => loadPolicies('/nonexistent/gatehouse-policies')).code).toBe('policy.unreadable');
    const empty = errorOf(() => loadPolicies(folder({ 'notes.txt': 'x' })));
    expect(empty.code).toBe('policy.empty');
    expect(empty.message).toMatch(/copy policies\/default\.yaml/);
  });

  it('loads the shipped default policy and examples', () => {
    const shipped = path.resolve(import.meta.dirname, '../../../policies');
    expect(loadPolicies(shipped).rules.length).toBeGreaterThan(5);
    expect(loadPolicies(path.join(shipped, 'examples')).rules.length).toBeGreaterThan(3);
  });
});

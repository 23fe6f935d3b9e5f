import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../gateway/commands/policy.ts';

const shipped = path.resolve(import.meta.dirname, '../../policies');
let dir: string;
let claimsFile: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-policy-cli-'));
  claimsFile = path.join(dir, 'claims.json');
  writeFileSync(
    claimsFile,
    JSON.stringify({
      repository: 'acme/app',
      ref: 'refs/heads/main',
      runner_environment: 'github-hosted',
      event_name: 'push',
    }),
  );
  writeFileSync(
    path.join(dir, 'default.yaml'),
    `
identities:
  - { name: main, claims: { repository: acme/app, ref: refs/heads/main }, connections: [app-db] }
rules:
  - { name: reads, action: allow, identities: [main], when: { kind: [read] } }
  - { name: no-drop, action: deny, when: { command: ["DROP *"] }, reason: "no drops" }
`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function capture(argv: string[]): Promise<{ code: number; text: string }> {
  let text = '';
  const code = await run(argv, { write: (chunk: string) => (text += chunk) });
  return { code, text };
}

describe('gatehouse policy check', () => {
  it('accepts the shipped policy folder', async () => {
    const { code, text } = await capture(['check', shipped]);
    expect(code).toBe(0);
    expect(text).toMatch(/\d+ rules/);
    expect(text).toMatch(/ok\n$/);
  });

  it('fails on lint errors and prints where they are', async () => {
    const bad = mkdtempSync(path.join(tmpdir(), 'gatehouse-policy-bad-'));
    try {
      writeFileSync(path.join(bad, 'p.yaml'), 'rules:\n  - { name: r, action: allow, identities: [nobody] }\n');
      const { code, text } = await capture(['check', bad]);
      expect(code).toBe(1);
      expect(text).toContain("error: p.yaml:2 rule 'r'".replace('p.yaml', path.join(bad, 'p.yaml')));
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });
});

describe('gatehouse policy check --config', () => {
  it('reads the policy folder from gatehouse.yaml and reports connections it does not define', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'gatehouse-policy-config-'));
    try {
      mkdirSync(path.join(root, 'policies'));
      writeFileSync(
        path.join(root, 'policies', 'p.yaml'),
        'rules:\n  - { name: r, action: allow, connections: [app-db, ap-db], when: { kind: [read] } }\n',
      );
      writeFileSync(
        path.join(root, 'gatehouse.yaml'),
        'listen: { http: "127.0.0.1:8080", postgres: "127.0.0.1:6432" }\nstore: ./.gatehouse\nissuers:\n  - issuer: dev\nconnections:\n  app-db: { type: postgres, url: "postgres://deployer@db.internal:5432/app" }\npolicies: ./policies\n',
      );
      const { code, text } = await capture(['check', '--config', path.join(root, 'gatehouse.yaml')]);
      expect(code).toBe(1);
      expect(text).toContain("connection 'ap-db' is not defined in gatehouse.yaml (known: app-db)");
      expect(text).not.toContain("connection 'app-db'");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('gatehouse policy explain', () => {
  it('prints the analysis, the matching rule and the decision', async () => {
    const { code, text } = await capture([
      'explain',
      '--claims',
      claimsFile,
      '--connection',
      'app-db',
      '--policies',
      dir,
      'SELECT * FROM orders; DROP TABLE orders',
    ]);
    expect(code).toBe(1);
    expect(text).toContain('identity rule: main');
    expect(text).toContain("ALLOW by rule 'reads'");
    expect(text).toContain('command: DROP TABLE');
    expect(text).toMatch(/decision: DENY by rule 'no-drop': no drops/);
  });

  it('prints JSON with --json and exits 0 for an allowed statement', async () => {
    const { code, text } = await capture([
      'explain',
      '--claims',
      claimsFile,
      '--connection',
      'app-db',
      '--policies',
      dir,
      '--json',
      'SELECT 1',
    ]);
    expect(code).toBe(0);
    const report = JSON.parse(text);
    expect(report.decision).toMatchObject({ action: 'allow', rule: 'reads' });
    expect(report.statements[0]).toMatchObject({ kind: 'read', command: 'SELECT' });
  });

  it('says when the claims would not get a session at all', async () => {
    const other = path.join(dir, 'other-claims.json');
    writeFileSync(other, JSON.stringify({ repository: 'evil/fork', ref: 'refs/heads/main' }));
    const { code, text } = await capture([
      'explain',
      '--claims',
      other,
      '--connection',
      'app-db',
      '--policies',
      dir,
      'SELECT 1',
    ]);
    expect(code).toBe(1);
    expect(text).toMatch(/no identity rule matches these claims.*main: repository/);
  });

  it('explains an ssh command with --ssh', async () => {
    const { code, text } = await capture([
      'explain',
      '--claims',
      claimsFile,
      '--connection',
      'deploy-host',
      '--policies',
      dir,
      '--ssh',
      'ls -la',
    ]);
    expect(code).toBe(1);
    expect(text).toMatch(/DENY by rule 'default-deny'.*ssh exec of 'ls'/);
  });
});

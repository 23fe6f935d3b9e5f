import { describe, expect, it } from 'vitest';
import { assertEnforceable, lintPolicy } from '../../../gateway/policy/lint-policy.ts';
import { parsePolicyFiles } from '../../../gateway/policy/load-policies.ts';

const lint = (yaml: string, connections?: string[]) =>
  lintPolicy(parsePolicyFiles([{ file: 'p.yaml', text: yaml }]), { connections });

describe('lintPolicy', () => {
  it('reports connection names missing from gatehouse.yaml as errors and unmatched globs as warnings', () => {
    const findings = lint(
      'rules:\n  - { name: r, action: allow, connections: [app-db, ap-db, "prod-*"], when: { kind: [read] } }\n',
      ['app-db', 'deploy-host'],
    );
    expect(findings).toContainEqual({
      severity: 'error',
      where: "p.yaml:2 rule 'r'",
      message: expect.stringContaining(
        "connection 'ap-db' is not defined in gatehouse.yaml (known: app-db, deploy-host)",
      ),
      weakens: false,
    });
    expect(findings).toContainEqual({
      severity: 'warning',
      where: "p.yaml:2 rule 'r'",
      message: "connection pattern 'prod-*' matches no connection in gatehouse.yaml",
      weakens: false,
    });
    expect(findings.some((f) => f.message.includes("'app-db'"))).toBe(false);
  });

  it('does not check connection names without a config', () => {
    expect(lint('rules:\n  - { name: r, action: allow, connections: [nowhere], when: { kind: [read] } }\n')).toEqual(
      [],
    );
  });

  it('reports rules that can never match', () => {
    const findings = lint(`
identities:
  - { name: main, claims: { repository: acme/app } }
rules:
  - { name: mixed, action: deny, when: { kind: [read], ssh: { type: [exec] } } }
  - { name: contradiction, action: deny, when: { flags: [unbounded_write], without_flags: [unbounded_write] } }
  - { name: unknown-facts, action: allow, connections: [app-db], when: { kind: [unknown], tables: [orders] } }
  - { name: ghost-identity, action: allow, identities: [mian], when: { kind: [read] } }
`);
    const errors = findings.filter((f) => f.severity === 'error').map((f) => f.where.replace(/^p\.yaml:\d+ /, ''));
    expect(errors).toEqual(["rule 'mixed'", "rule 'contradiction'", "rule 'unknown-facts'", "rule 'ghost-identity'"]);
  });

  it('warns about over-broad allows and identities that pin no repository', () => {
    const findings = lint(`
identities:
  - { name: anyone, claims: { ref: refs/heads/main }, connections: ["*"] }
rules:
  - { name: trust-all-unknown, action: allow, when: { kind: [unknown] } }
  - { name: everything, action: allow }
`);
    const messages = findings.filter((f) => f.severity === 'warning').map((f) => `${f.where}: ${f.message}`);
    expect(messages.some((m) => m.includes('trust-all-unknown') && m.includes('cannot analyse'))).toBe(true);
    expect(messages.some((m) => m.includes("'everything'") && m.includes("has no 'when'"))).toBe(true);
    expect(messages.some((m) => m.includes("identity 'anyone'") && m.includes('any GitHub repository'))).toBe(true);
    expect(messages.some((m) => m.includes("identity 'anyone'") && m.includes('every connection'))).toBe(true);
  });

  it('finds nothing to say about a well-formed read rule', () => {
    expect(lint('rules:\n  - { name: reads, action: allow, when: { kind: [read] } }\n')).toEqual([]);
  });
});

describe('findings that weaken enforcement', () => {
  const policy = (yaml: string) => parsePolicyFiles([{ file: 'p.yaml', text: yaml }]);

  it('marks a deny, a review or a masking section that misses its connection as weakening, an allow as not', () => {
    const findings = lint(
      [
        'rules:',
        '  - { name: a, action: allow, connections: [old-db], when: { kind: [read] } }',
        '  - { name: d, action: deny, connections: [old-db], when: { kind: [ddl] } }',
        '  - { name: r, action: review, connections: ["old-*"], when: { kind: [write] }, review: {} }',
        'masking:',
        '  - { connections: [old-db], columns: [{ column: public.t.c }] }',
      ].join('\n'),
      ['app-db'],
    );
    expect(findings.map((f) => [f.where, f.weakens])).toEqual([
      ["p.yaml:2 rule 'a'", false],
      ["p.yaml:3 rule 'd'", true],
      ["p.yaml:4 rule 'r'", true],
      ['masking[0]', true],
    ]);
  });

  it('marks a deny that can never match as weakening', () => {
    const findings = lint(
      'rules:\n  - { name: d, action: deny, when: { flags: [opaque_code], without_flags: [opaque_code] } }\n',
    );
    expect(findings).toMatchObject([{ severity: 'error', weakens: true }]);
  });

  it('refuses, with every weakening finding in one message, a policy that does not apply as written', () => {
    const weak = policy('masking:\n  - { connections: [app_db], columns: [{ column: public.t.c }] }\n');
    expect(() => assertEnforceable(weak, ['app-db'])).toThrow(
      /does not apply as written[\s\S]*masking\[0\]: connection 'app_db' is not defined in gatehouse.yaml/,
    );
    expect(() => assertEnforceable(policy('rules: []\n'), ['app-db'])).not.toThrow();
  });
});

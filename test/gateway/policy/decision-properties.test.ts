import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPolicyEngine, type PolicyEngine } from '../../../gateway/policy/engine.ts';
import { parsePolicyFiles } from '../../../gateway/policy/load-policies.ts';
import type { Identity } from '../../../gateway/policy/actions-and-decisions.ts';
import { analyzeSql, loadSqlParser } from '../../../gateway/sql/analyze-sql.ts';

const identity: Identity = { sessionId: 'prop', claims: {}, identityRule: 'prop' };
let guard: PolicyEngine;

beforeAll(async () => {
  await loadSqlParser();
  guard = createPolicyEngine(
    parsePolicyFiles([
      { file: 'default.yaml', text: readFileSync(new URL('../../../policies/default.yaml', import.meta.url), 'utf8') },
    ]),
  );
});

const decide = (sql: string) =>
  guard.decide({ type: 'pg.query', via: 'simple', sql, statements: analyzeSql(sql), connection: 'app-db', identity });

const scary = fc.constantFrom(
  'DROP TABLE orders',
  'TRUNCATE orders',
  'DELETE FROM orders',
  "'; DROP TABLE orders; --",
  '$$ DELETE FROM orders $$',
  '*/ DROP TABLE orders /*',
  "pg_read_file('/etc/passwd')",
  'SET ROLE postgres',
  '\\',
  '$',
  "'",
  '"',
);
const payload = fc
  .array(fc.oneof(scary, fc.string({ unit: 'grapheme' })), { maxLength: 5 })
  .map((parts) => parts.join(' ').replace(/\0/g, ''));

function randomCase(text: string, seed: number): string {
  return [...text].map((ch, i) => ((seed >> (i % 16)) & 1 ? ch.toUpperCase() : ch.toLowerCase())).join('');
}

describe('guard decisions', () => {
  it('never deny a SELECT of any string literal, however it is quoted', () => {
    fc.assert(
      fc.property(payload, (text) => {
        const standard = `SELECT '${text.replace(/'/g, "''")}' AS value`;
        const escape = `SELECT E'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
        const tag = text.includes('$q$') ? '$r$' : '$q$';
        const dollar = text.includes(tag) ? standard : `SELECT ${tag}${text}${tag}`;
        for (const sql of [standard, escape, dollar]) expect(decide(sql).action).toBe('allow');
      }),
      { numRuns: 150 },
    );
  });

  it('keep denying a destructive statement whatever comments, whitespace and letter case surround it', () => {
    const destructive = fc.constantFrom(
      'DROP TABLE orders',
      'TRUNCATE orders',
      'DELETE FROM orders',
      'UPDATE orders SET total = 0',
      "SELECT pg_read_file('/etc/passwd')",
      'SET ROLE postgres',
    );
    const noise = fc
      .array(fc.constantFrom(' ', '\n', '\t', '/* x */', '/* nested /* c */ */', '-- c\n'), { maxLength: 4 })
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(destructive, noise, noise, fc.integer({ min: 0, max: 65535 }), (sql, before, after, seed) => {
        const words = randomCase(sql.replace(/'[^']*'/g, '§'), seed)
          .replace('§', "'/etc/passwd'")
          .split(' ');
        const text = `${before}${words.join(` ${before} `)}${after}`;
        expect(decide(text).action).toBe('deny');
        expect(decide(`SELECT 1; ${text}`).action).toBe('deny');
      }),
      { numRuns: 150 },
    );
  });
});

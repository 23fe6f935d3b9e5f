import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withPolicyReference } from '../../gateway/policy/policy-reference.ts';

const readme = readFileSync('README.md', 'utf8');

describe('README.md', () => {
  it('carries the policy reference generated from the current schema (run `npm run docs:policy`)', () => {
    expect(withPolicyReference(readme)).toBe(readme);
  });

  it('shows a newcomer the two commands on its first screen', () => {
    const firstScreen = readme.split('\n').slice(0, 20).join('\n');
    expect(firstScreen).toContain('npm ci && npm start');
    expect(firstScreen).toContain('npm test');
  });
});

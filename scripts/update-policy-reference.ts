// `npm run docs:policy`: regenerates the policy reference section of README.md from the schema.
import { readFileSync, writeFileSync } from 'node:fs';
import { withPolicyReference } from '../gateway/policy/policy-reference.ts';

const file = new URL('../README.md', import.meta.url);
writeFileSync(file, withPolicyReference(readFileSync(file, 'utf8')));

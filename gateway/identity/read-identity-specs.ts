import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import type { IdentityRuleSpec } from './identity-rules.ts';

/**
 * Reads the `identities:` entries of every policy YAML file in `dir`, in file-name order. A
 * stand-in until the policy loader exposes identities; it checks only the list shape, the rules
 * themselves are validated by `compileIdentityRules`.
 */
export async function readIdentitySpecs(dir: string): Promise<IdentityRuleSpec[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => /\.ya?ml$/.test(name)).sort();
  } catch {
    throw new GatehouseError('policy.unreadable', `${dir}: cannot read the policies folder; set policies: in gatehouse.yaml to an existing folder`);
  }
  const specs: IdentityRuleSpec[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    let data: unknown;
    try {
      data = parse(await readFile(file, 'utf8'));
    } catch (error) {
      throw new GatehouseError('policy.yaml', `${file}: not valid YAML (${(error as Error).message.split('\n')[0]})`);
    }
    const identities = (data as { identities?: unknown } | null)?.identities;
    if (identities === undefined || identities === null) continue;
    if (!Array.isArray(identities)) throw new GatehouseError('policy.identity-invalid', `${file}: identities must be a list of rules`);
    specs.push(...(identities as IdentityRuleSpec[]));
  }
  return specs;
}

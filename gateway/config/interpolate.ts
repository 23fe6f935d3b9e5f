import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GatehouseError } from '../errors/gatehouse-error.ts';

const REFERENCE = /\$\{(env|file):([^}]+)\}/g;

/**
 * Replaces `${env:NAME}` and `${file:PATH}` in every string of a parsed config, so secrets stay
 * out of the file. PATH is relative to the config file. `where` names the key path for errors.
 */
export function interpolateSecrets(value: unknown, configDir: string, where = ''): unknown {
  if (typeof value === 'string') return interpolateString(value, configDir, where);
  if (Array.isArray(value)) return value.map((item, i) => interpolateSecrets(item, configDir, `${where}/${i}`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolateSecrets(item, configDir, `${where}/${key}`)]),
    );
  }
  return value;
}

function interpolateString(text: string, configDir: string, where: string): string {
  return text.replace(REFERENCE, (_match, kind: string, name: string) => {
    if (kind === 'env') {
      const found = process.env[name];
      if (found === undefined) {
        throw new GatehouseError(
          'config.env-missing',
          `${where || '/'}: environment variable ${name} is not set; export it or remove \${env:${name}}`,
        );
      }
      return found;
    }
    const file = path.resolve(configDir, name);
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch {
      throw new GatehouseError(
        'config.file-missing',
        `${where || '/'}: cannot read ${file} for \${file:${name}}; check the path (relative to the config file)`,
      );
    }
  });
}

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Repository-relative paths of the relative imports of every .ts file in `folder`. */
function importsOf(folder: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const name of readdirSync(join(root, folder)).filter((n) => n.endsWith('.ts'))) {
    const file = join(root, folder, name);
    const text = readFileSync(file, 'utf8');
    const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
    out.set(
      `${folder}/${name}`,
      specs.map((spec) => relative(root, resolve(dirname(file), spec))),
    );
  }
  return out;
}

function outside(imports: Map<string, string[]>, allowed: (path: string) => boolean): string[] {
  return [...imports].flatMap(([file, targets]) => targets.filter((t) => !allowed(t)).map((t) => `${file} -> ${t}`));
}

describe('what the Action bundles', () => {
  it('imports nothing of the gateway but the client side, the error type and the wire types', () => {
    const allowed = (path: string) =>
      path.startsWith('actions/src/') ||
      path.startsWith('gateway/client/') ||
      path === 'gateway/errors/gatehouse-error.ts' ||
      path.startsWith('wire/');
    expect(outside(importsOf('actions/src'), allowed)).toEqual([]);
  });

  it('keeps the client side apart from the server: only wire types, errors and the codecs it shares', () => {
    const shared = new Set([
      'gateway/errors/gatehouse-error.ts',
      'gateway/identity/session-token.ts',
      'gateway/commands/command-args.ts',
      'gateway/mysql/auth/auth-plugins.ts',
    ]);
    const allowed = (path: string) =>
      path.startsWith('gateway/client/') ||
      path.startsWith('wire/') ||
      path.startsWith('gateway/mysql/codec/') ||
      shared.has(path);
    expect(outside(importsOf('gateway/client'), allowed)).toEqual([]);
  });
});

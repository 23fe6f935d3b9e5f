#!/usr/bin/env node
// Bundles the Action's entry points and the `gatehouse connect` client into actions/dist/.
// The output is committed and must be reproducible: CI rebuilds it and runs
// `git diff --exit-code actions/dist`, so nothing here may depend on time or absolute paths.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

const ENTRIES = {
  connect: 'actions/src/connect.ts',
  disconnect: 'actions/src/disconnect.ts',
};
// The client wraps `gatehouse connect`; it is bundled once that command exists in the tree.
if (existsSync(new URL('../actions/src/client-main.ts', import.meta.url)))
  ENTRIES['gatehouse-connect'] = 'actions/src/client-main.ts';

// CommonJS dependencies bundled into ESM still call require() and read __dirname/__filename.
const banner = [
  "import { createRequire as __gatehouseCreateRequire } from 'node:module';",
  "import { fileURLToPath as __gatehouseFileURLToPath } from 'node:url';",
  "import { dirname as __gatehouseDirname } from 'node:path';",
  'const require = __gatehouseCreateRequire(import.meta.url);',
  'const __filename = __gatehouseFileURLToPath(import.meta.url);',
  'const __dirname = __gatehouseDirname(__filename);',
].join('\n');

const check = process.argv.includes('--check');

const result = await build({
  absWorkingDir: root,
  entryPoints: ENTRIES,
  outdir: 'actions/dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  charset: 'utf8',
  legalComments: 'none',
  sourcemap: false,
  minify: false,
  treeShaking: true,
  logLevel: 'warning',
  banner: { js: banner },
  define: { GATEHOUSE_VERSION: JSON.stringify(version) },
  // ws loads these optional native accelerators inside try/catch; without them it uses plain JS.
  external: ['bufferutil', 'utf-8-validate'],
  write: !check,
});

// `--check` builds in memory and names every committed bundle that differs from its sources.
if (check) {
  const stale = result.outputFiles
    .filter((file) => !existsSync(file.path) || !readFileSync(file.path).equals(Buffer.from(file.contents)))
    .map((file) => file.path.slice(join(root, '/').length));
  if (stale.length > 0) {
    process.stderr.write(
      `stale action bundles: ${stale.join(', ')}\nfix: run 'npm run build:actions' and commit actions/dist (the client bundle includes gateway/commands/connect.ts and gateway/tunnel/)\n`,
    );
    process.exit(1);
  }
}

import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MIGRATIONS } from '../../../gateway/store/migrations.ts';
import { createPgliteExecutor } from '../../../gateway/store/pglite-executor.ts';
import { SqlStore } from '../../../gateway/store/sql-store.ts';

const pgliteVersion = (
  JSON.parse(
    readFileSync(new URL('../../../node_modules/@electric-sql/pglite/package.json', import.meta.url), 'utf8'),
  ) as { version: string }
).version;
const schemaKey = createHash('sha256')
  .update(pgliteVersion)
  .update(JSON.stringify(MIGRATIONS))
  .digest('hex')
  .slice(0, 16);
const TEMPLATE = path.join(os.tmpdir(), `gatehouse-pglite-template-${schemaKey}`);

let building: Promise<void> | null = null;

/**
 * A new data directory holding an empty, migrated embedded store. Initialising PGlite costs
 * seconds (much more on a busy CI box), so it is done once into a shared template (keyed by the
 * PGlite version and the migrations) and copied per test.
 */
export async function freshPgliteDir(): Promise<string> {
  if (!existsSync(TEMPLATE)) {
    building ??= buildTemplate();
    await building;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-store-'));
  cpSync(TEMPLATE, dir, { recursive: true });
  return dir;
}

async function buildTemplate(): Promise<void> {
  const staging = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-pglite-staging-'));
  const store = new SqlStore(await createPgliteExecutor(staging));
  await store.migrate();
  await store.close();
  try {
    renameSync(staging, TEMPLATE);
  } catch {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(TEMPLATE)) throw new Error(`could not create the PGlite template at ${TEMPLATE}`);
  }
}

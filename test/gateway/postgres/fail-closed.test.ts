import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type GatewayUnderTest } from '../../support/gateway-harness.ts';
import { createTestDatabase, type TestDatabase } from '../../support/pg-target.ts';

const run = promisify(execFile);
let db: TestDatabase;
let gateway: GatewayUnderTest;

beforeAll(async () => {
  db = await createTestDatabase();
  const policies = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-fail-closed-'));
  copyFileSync(path.resolve('policies/default.yaml'), path.join(policies, 'default.yaml'));
  copyFileSync(path.resolve('policies/examples/masking.yaml'), path.join(policies, 'masking.yaml'));
  gateway = await startTestGateway(db, { policies });
});

afterAll(async () => {
  await gateway?.close();
  await db?.drop();
});

/** Runs each SQL string as its own simple Query on one psql connection; returns stdout+stderr. */
async function psql(...queries: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run('psql', [gateway.url, '-X', '-At', ...queries.flatMap((q) => ['-c', q])]);
    return stdout + stderr;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
}

async function ordersExist(): Promise<boolean> {
  const { stdout } = await run('psql', [db.url, '-X', '-At', '-c', "SELECT count(*) FROM pg_tables WHERE tablename = 'orders'"]);
  return stdout.trim() === '1';
}

describe('the data path fails closed', () => {
  it('denies set_config of a setting that changes how the server lexes SQL, so a later statement cannot hide a DROP in a string', async () => {
    const out = await psql(
      "SELECT set_config('standard_conforming_strings', 'off', false)",
      "SELECT 'x\\' -- '; DROP TABLE orders; --",
    );
    expect(out).toMatch(/denied by rule "no-dangerous-functions"/);
    expect(await ordersExist()).toBe(true);
    const encoding = await psql("SELECT set_config('client_encoding', 'SJIS', false)");
    expect(encoding).toMatch(/denied by rule "no-dangerous-functions"/);
  });
});

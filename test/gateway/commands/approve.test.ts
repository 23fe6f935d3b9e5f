import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { run } from '../../../gateway/commands/approve.ts';
import { createStore } from '../../../gateway/store/create-store.ts';
import type { ApprovalRecord } from '../../../gateway/store/store.ts';
import { createTestDatabase, usingRealServer, type TestDatabase } from '../../support/pg-target.ts';

let database: TestDatabase | undefined;
let dir: string;
let configFile: string;
let location: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-approve-'));
  if (usingRealServer()) database = await createTestDatabase('SELECT 1');
  location = database?.url ?? path.join(dir, 'store');
  configFile = path.join(dir, 'gatehouse.yaml');
  writeFileSync(
    configFile,
    stringify({
      store: location,
      connections: { 'app-db': { type: 'postgres', url: 'postgres://app@127.0.0.1:5432/app' } },
    }),
  );
});

afterAll(async () => {
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** Stores a pending approval, then closes the store so the command can open it (PGlite allows one opener). */
async function pending(id: string): Promise<void> {
  const store = await createStore(location);
  const now = new Date();
  const record: ApprovalRecord = {
    id,
    sessionId: 'ses_cli',
    connection: 'app-db',
    statementHash: 'h',
    statement: 'UPDATE t SET x = 1',
    rule: 'review-writes',
    status: 'pending',
    requestedAt: now,
    expiresAt: new Date(now.getTime() + 600_000),
    decidedAt: null,
    decidedBy: [],
    reason: null,
    settings: { replicaId: 'elsewhere' },
  };
  await store.createApproval(record);
  await store.close();
}

async function statusOf(id: string): Promise<ApprovalRecord | null> {
  const store = await createStore(location);
  try {
    return await store.getApproval(id);
  } finally {
    await store.close();
  }
}

describe('gatehouse approve', () => {
  it('approves a pending request through the store, recorded as made on the command line', async () => {
    await pending('apr_cli_yes');
    expect(await run(['apr_cli_yes', '--config', configFile])).toBe(0);
    const record = await statusOf('apr_cli_yes');
    expect(record?.status).toBe('approved');
    expect(record?.decidedBy[0]).toMatch(/^cli:/);
  });

  it('denies with a reason', async () => {
    await pending('apr_cli_no');
    expect(await run(['apr_cli_no', '--deny', '--reason', 'wrong table', '--config', configFile])).toBe(0);
    expect(await statusOf('apr_cli_no')).toMatchObject({ status: 'denied', reason: 'wrong table' });
  });

  it('says so when the approval does not exist or is already decided', async () => {
    await expect(run(['apr_cli_none', '--config', configFile])).rejects.toMatchObject({ code: 'approvals.not-found' });
    await expect(run(['apr_cli_yes', '--deny', '--config', configFile])).rejects.toMatchObject({
      code: 'approvals.not-pending',
      message: 'approval apr_cli_yes is already approved',
    });
  });

  it('asks for exactly one id', async () => {
    await expect(run(['--config', configFile])).rejects.toMatchObject({ code: 'cli.usage' });
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../../../gateway/store/create-store.ts';
import { createTestDatabase, usingRealServer, type TestDatabase } from '../../support/pg-target.ts';
import { cli, gatewayProcess, openSession, type GatewayProcess } from '../audit/support/gateway-process.ts';

describe.runIf(usingRealServer())('a second gatehouse serve on a busy port', { timeout: 120_000 }, () => {
  let store: TestDatabase;
  let target: TestDatabase;
  let gateway: GatewayProcess;
  let session: { id: string; token: string };
  let client: pg.Client;
  const dirs: string[] = [];

  beforeAll(async () => {
    target = await createTestDatabase('SELECT 1');
    store = await createTestDatabase('');
    gateway = await gatewayProcess({ store: store.url, target: target.url, auditYaml: ['durability: write'] });
    await gateway.start();
    session = await openSession(gateway, store.url);
    client = new pg.Client({
      connectionString: `postgres://ci:${encodeURIComponent(session.token)}@127.0.0.1:${gateway.pgPort}/app-db`,
    });
    client.on('error', () => {});
    await client.connect();
  }, 90_000);

  afterAll(async () => {
    await client?.end().catch(() => {});
    await gateway?.stop();
    gateway?.cleanup();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await target?.drop();
    await store?.drop();
  });

  async function storedSession() {
    const db = await createStore(store.url, { mustExist: true });
    try {
      return await db.getSession(session.id);
    } finally {
      await db.close();
    }
  }

  it.each([
    ['the same config', () => gateway.config],
    [
      'a copy of the config in another directory (same gateway name, a fresh journal)',
      () => {
        const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-second-'));
        dirs.push(dir);
        const copy = path.join(dir, 'gatehouse.yaml');
        writeFileSync(copy, readFileSync(gateway.config, 'utf8'));
        return copy;
      },
    ],
  ])('with %s fails with a clear message and leaves the running gateway and its sessions alone', async (_, config) => {
    const second = await cli(['serve', '--config', config()]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      /^gatehouse serve: cannot listen on 127\.0\.0\.1:\d+ \(listen\.http\): the address is already in use/m,
    );
    expect(second.stderr).not.toMatch(/\n\s+at /);
    expect((await storedSession())?.endedAt).toBeNull();
    expect((await client.query("SELECT 'still served' AS k")).rows).toEqual([{ k: 'still served' }]);
    expect(gateway.output()).not.toContain('session.ended');
  });
});

import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { mergeChains } from '../../../gateway/audit/audit-log.ts';
import type { AuditDurability } from '../../../gateway/config/config-types.ts';
import { createStore } from '../../../gateway/store/create-store.ts';
import { createTestDatabase, usingRealServer, withAdmin, type TestDatabase } from '../../support/pg-target.ts';
import { cli, gatewayProcess, openSession, runLoad, type GatewayProcess } from './support/gateway-process.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(
  auditYaml: string[],
): Promise<{ gateway: GatewayProcess; store: TestDatabase; target: TestDatabase }> {
  const target = await createTestDatabase('SELECT 1');
  const store = await createTestDatabase('');
  cleanups.push(
    () => target.drop(),
    () => store.drop(),
  );
  const gateway = await gatewayProcess({ store: store.url, target: target.url, auditYaml });
  cleanups.push(
    () => gateway.cleanup(),
    () => gateway.stop(),
  );
  await gateway.start();
  return { gateway, store, target };
}

/** The texts of the session's `statement` events, from the store. */
async function statementTexts(storeUrl: string, sessionId: string): Promise<Set<unknown>> {
  const store = await createStore(storeUrl, { mustExist: true });
  try {
    const events = mergeChains(await store.listAuditEvents(sessionId));
    return new Set(events.filter((e) => e.type === 'statement').map((e) => e.data.text));
  } finally {
    await store.close();
  }
}

const sql = (key: string) => `SELECT '${key}' AS k`;
const pgUrl = (gateway: GatewayProcess, token: string) =>
  `postgres://ci:${encodeURIComponent(token)}@127.0.0.1:${gateway.pgPort}/app-db`;

describe.runIf(usingRealServer())('a gateway process killed with kill -9 under load', { timeout: 120_000 }, () => {
  it.each<AuditDurability>(['write', 'fsync', 'store'])(
    'with durability %s loses no statement a client saw succeed, and after a restart `audit verify` passes',
    async (durability) => {
      const { gateway, store } = await setUp([`durability: ${durability}`]);
      const session = await openSession(gateway, store.url);
      const load = runLoad(pgUrl(gateway, session.token), 4);
      await load.reached(300);
      await gateway.kill();
      await load.stop();
      const seen = [...load.succeeded];

      await gateway.start();
      expect(gateway.output()).toContain('closed 1 session(s) left open by a previous run (gateway-restart)');
      const verify = await cli(['audit', 'verify', session.id, '--config', gateway.config]);
      expect(verify.stderr).toBe('');
      expect(verify.stdout).toMatch(/^verified \d+ events, signature ok/);
      expect(verify.code).toBe(0);
      const logged = await statementTexts(store.url, session.id);
      expect(seen.filter((key) => !logged.has(sql(key)))).toEqual([]);
      expect(seen.length).toBeGreaterThanOrEqual(300);
    },
  );
});

describe.runIf(usingRealServer())('a gateway whose store goes away', { timeout: 120_000 }, () => {
  it('keeps serving while the journal has room, refuses once it is full, ships when the store is back, and anchors the final hash', async () => {
    const { gateway, store } = await setUp(['durability: write', 'journal: { max_bytes: 65536 }']);
    const session = await openSession(gateway, store.url);
    const client = new pg.Client({ connectionString: pgUrl(gateway, session.token) });
    client.on('error', () => {});
    await client.connect();
    cleanups.push(() => client.end().catch(() => {}));
    await client.query(sql('before'));
    const block = (allow: boolean) =>
      withAdmin(async (c) => {
        await c.query(`ALTER DATABASE "${store.database}" ALLOW_CONNECTIONS ${allow}`);
        if (!allow)
          await c.query(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
            [store.database],
          );
      });
    await block(false);
    cleanups.push(() => block(true));

    const seen = ['before'];
    let refusal: { code?: string; message: string } | null = null;
    for (let n = 0; n < 5000 && !refusal; n++) {
      await client.query(sql(`away-${n}`)).then(
        () => seen.push(`away-${n}`),
        (error: { code?: string; message: string }) => (refusal = error),
      );
    }
    expect(seen.length).toBeGreaterThan(20);
    expect(refusal).toMatchObject({ code: '58030', message: expect.stringContaining('audit journal is full') });

    await block(true);
    let back = false;
    for (let i = 0; i < 100 && !back; i++) {
      back = await client.query(sql('back')).then(
        () => true,
        () => new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 100)),
      );
    }
    expect(back).toBe(true);
    seen.push('back');
    await client.end();

    const ended = await fetch(`${gateway.httpUrl}/v1/sessions/${session.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${session.token}` },
    });
    const answer = (await ended.json()) as { final_hash: string | null };
    expect(answer.final_hash).toMatch(/^[0-9a-f]{64}$/);
    const verify = await cli([
      'audit',
      'verify',
      session.id,
      '--config',
      gateway.config,
      '--expect',
      answer.final_hash!,
    ]);
    expect(verify.stdout).toContain(`final hash ${answer.final_hash} (as expected)`);
    expect(verify.code).toBe(0);
    const logged = await statementTexts(store.url, session.id);
    expect(seen.filter((key) => !logged.has(sql(key)))).toEqual([]);
  });
});

describe.runIf(usingRealServer())('one job over two gateway replicas on one store', { timeout: 120_000 }, () => {
  it('gives each replica its own chain: no 58030 refusal, no gap, and DELETE on one anchors both chains', async () => {
    const keyDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-shared-key-'));
    cleanups.push(() => rmSync(keyDir, { recursive: true, force: true }));
    const keyFile = path.join(keyDir, 'audit.pem');
    writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const shared = [`signing_key: "\${file:${keyFile}}"`];
    const { gateway: a, store, target } = await setUp(shared);
    const b = await gatewayProcess({ store: store.url, target: target.url, auditYaml: shared });
    cleanups.push(
      () => b.cleanup(),
      () => b.stop(),
    );
    await b.start();
    const session = await openSession(a, store.url);
    const onA = runLoad(pgUrl(a, session.token), 2, 'a');
    const onB = runLoad(pgUrl(b, session.token), 2, 'b');
    await Promise.all([onA.reached(200), onB.reached(200)]);
    await Promise.all([onA.stop(), onB.stop()]);
    expect([...onA.errors, ...onB.errors]).toEqual([]);
    const seen = [...onA.succeeded, ...onB.succeeded];

    const ended = await fetch(`${a.httpUrl}/v1/sessions/${session.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${session.token}` },
    });
    const { final_hash: finalHash } = (await ended.json()) as { final_hash: string | null };
    expect(finalHash).toMatch(/^[0-9a-f]{64}$/);
    const verify = await cli(['audit', 'verify', session.id, '--config', b.config, '--expect', finalHash!]);
    expect(verify.stdout).toMatch(/^verified \d+ events in 2 chains, signature ok/);
    expect(verify.code).toBe(0);
    const logged = await statementTexts(store.url, session.id);
    expect(seen.filter((key) => !logged.has(sql(key)))).toEqual([]);
  });
});

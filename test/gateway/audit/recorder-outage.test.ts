import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDiskJournal } from '../../../gateway/audit/journal/disk-journal.ts';
import { createRecorder } from '../../../gateway/audit/recorder.ts';
import { generateAuditSigningKey } from '../../../gateway/audit/signing-key.ts';
import { verifySession } from '../../../gateway/audit/verify-session.ts';
import type { AuditDurability } from '../../../gateway/config/config-types.ts';
import { withAdmin } from '../../support/pg-target.ts';
import { ENGINES, type EngineStore } from '../store/store-engines.ts';

const key = generateAuditSigningKey();
const start = { claims: { repository: 'acme/app' }, connection: 'app-db' };
const statement = (n: number) => ({ text: `SELECT ${n}`, decision: 'allow', rule: 'r' });
const postgres = ENGINES.filter((engine) => engine.name === 'postgres');

describe.each(postgres)('the recorder while its PostgreSQL store is away', (engine) => {
  let ctx: EngineStore;
  let database: string;
  const dirs: string[] = [];
  beforeAll(async () => {
    ctx = await engine.open();
    database = decodeURIComponent(new URL(ctx.location).pathname.slice(1));
  });
  afterAll(async () => {
    await storeBack();
    await ctx?.drop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  async function storeAway(): Promise<void> {
    await withAdmin(async (c) => {
      await c.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS false`);
      await c.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [database],
      );
    });
  }

  async function storeBack(): Promise<void> {
    await withAdmin((c) => c.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`));
  }

  /** Waits until the recorder's journal has shipped everything of session `id` (the store came back). */
  async function shipped(r: ReturnType<typeof recorder>, id: string): Promise<void> {
    for (let i = 0; i < 200 && r.pending(id).length > 0; i++) await r.flush();
    expect(r.pending(id)).toEqual([]);
  }

  function recorder(durability: AuditDurability, maxBytes = 1 << 20, log: string[] = []) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-outage-'));
    dirs.push(dir);
    return createRecorder({
      store: ctx.store,
      key,
      durability,
      sealSweepMs: 0,
      log: (m) => log.push(m),
      journal: (checkpoint) => openDiskJournal({ dir, maxBytes, checkpoint }),
    });
  }

  it('goes on while the store refuses connections, then ships the journal when it is back', async () => {
    const log: string[] = [];
    const r = recorder('write', 1 << 20, log);
    const id = randomUUID();
    await r.sessionStarted(id, start);
    await r.flush();
    await storeAway();
    try {
      for (let n = 0; n < 50; n++) await r.record(id, 'statement', statement(n));
      await r.flush();
      expect(r.pending(id)).toHaveLength(50);
    } finally {
      await storeBack();
    }
    await r.sessionEnded(id, 'client-closed');
    await shipped(r, id);
    expect(log).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^audit: cannot ship to the store .*commands go on while it has room/),
        expect.stringMatching(/^audit: the store is reachable again/),
      ]),
    );
    const result = await verifySession(ctx.store, id, key.publicKey);
    expect(result).toMatchObject({ ok: true, events: 1 + 50 + 2 });
  });

  it('refuses with audit.journal-full once the journal holds max_bytes, and accepts again once it shipped', async () => {
    const r = recorder('write', 65536);
    const id = randomUUID();
    await r.sessionStarted(id, start);
    await r.flush();
    await storeAway();
    let accepted = 0;
    let refusal: unknown;
    try {
      for (let n = 0; n < 5000 && !refusal; n++) {
        await r.record(id, 'statement', statement(n)).then(
          () => accepted++,
          (error: unknown) => (refusal = error),
        );
      }
    } finally {
      await storeBack();
    }
    expect(accepted).toBeGreaterThan(100);
    expect(refusal).toMatchObject({
      code: 'audit.journal-full',
      message: expect.stringContaining('commands are refused'),
    });
    await r.flush();
    await r.record(id, 'statement', statement(-1));
    await r.sessionEnded(id, 'client-closed');
    await r.flush();
    expect(await verifySession(ctx.store, id, key.publicKey)).toMatchObject({ ok: true, events: 1 + accepted + 1 + 2 });
  });

  it('refuses with audit.unavailable under durability store while the store is away, and recovers after', async () => {
    const r = recorder('store');
    const id = randomUUID();
    await r.sessionStarted(id, start);
    await storeAway();
    try {
      await expect(r.record(id, 'statement', statement(1))).rejects.toMatchObject({
        code: 'audit.unavailable',
        message: expect.stringContaining('best-effort'),
      });
    } finally {
      await storeBack();
    }
    await r.record(id, 'statement', statement(2));
    const texts = (await ctx.store.listAuditEvents(id)).map((e) => e.data.text ?? e.type);
    expect(texts.slice(-1)).toEqual(['SELECT 2']);
  });
});

describe.each(ENGINES)('the recorder with durability store on $name', (engine) => {
  it('rejects every queued event with audit.unavailable once the store is closed', async () => {
    const ctx = await engine.open();
    try {
      const r = createRecorder({ store: ctx.store, key, durability: 'store', sealSweepMs: 0 });
      const id = randomUUID();
      await r.sessionStarted(id, start);
      await ctx.store.close();
      const results = await Promise.allSettled([
        r.record(id, 'statement', statement(1)),
        r.record(id, 'statement', statement(2)),
        r.sessionEnded(id, 'disconnect'),
      ]);
      expect(results.map((x) => x.status === 'rejected' && (x.reason as { code?: string }).code)).toEqual([
        'audit.unavailable',
        'audit.unavailable',
        'audit.unavailable',
      ]);
    } finally {
      await ctx.drop();
    }
  });
});

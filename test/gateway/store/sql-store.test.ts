import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations, MIGRATIONS } from '../../../gateway/store/migrations.ts';
import { createPgExecutor } from '../../../gateway/store/pg-executor.ts';
import { SqlStore } from '../../../gateway/store/sql-store.ts';
import { createTestDatabase } from '../../support/pg-target.ts';
import type { ApprovalRecord, SessionRecord } from '../../../gateway/store/store.ts';
import { ENGINES, type EngineStore } from './store-engines.ts';

function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const id = randomUUID();
  return {
    id,
    tokenHash: `hash-${id}`,
    identityRule: 'main-deploys',
    claims: { repository: 'acme/app', run_id: '42', job: 'deploy' },
    connections: ['app-db'],
    createdAt: new Date('2026-01-01T10:00:00.000Z'),
    expiresAt: new Date('2026-01-01T10:15:00.000Z'),
    endedAt: null,
    endReason: null,
    sshKeys: [],
    ...overrides,
  };
}

function approval(sessionId: string): ApprovalRecord {
  return {
    id: randomUUID(),
    sessionId,
    connection: 'app-db',
    statementHash: 'abc',
    statement: 'DELETE FROM users',
    rule: 'review-deletes',
    status: 'pending',
    requestedAt: new Date('2026-01-01T10:01:00.000Z'),
    expiresAt: new Date('2026-01-01T10:11:00.000Z'),
    decidedAt: null,
    decidedBy: [],
    reason: null,
    settings: { approvals: 1 },
  };
}

describe.each(ENGINES)('SqlStore on $name', (engine) => {
  let ctx: EngineStore;
  beforeAll(async () => {
    ctx = await engine.open();
  });
  afterAll(async () => {
    await ctx?.drop();
  });

  it('records the applied migrations and applies nothing the second time', async () => {
    expect(await applyMigrations(ctx.sql)).toEqual([]);
    const rows = await ctx.sql.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => Number(r.version))).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('applies only the migrations a database does not have yet, in version order', async () => {
    const later = [
      { version: 1001, name: 'second', sql: 'ALTER TABLE test_extra ADD COLUMN note text' },
      { version: 1000, name: 'first', sql: 'CREATE TABLE test_extra (id integer)' },
    ];
    expect(await applyMigrations(ctx.sql, [...MIGRATIONS, ...later])).toEqual([1000, 1001]);
    expect(await applyMigrations(ctx.sql, [...MIGRATIONS, ...later])).toEqual([]);
    await ctx.sql.query("INSERT INTO test_extra (id, note) VALUES (1, 'ok')");
  });

  it('keeps the first value of a secret when two writers race', async () => {
    const [a, b] = await Promise.all([
      ctx.store.putSecretIfAbsent('k1', 'first'),
      ctx.store.putSecretIfAbsent('k1', 'second'),
    ]);
    expect(a).toBe(b);
    expect(await ctx.store.getSecret('k1')).toBe(a);
    expect(await ctx.store.getSecret('missing')).toBeNull();
  });

  it('accepts a jti once and reports its replay', async () => {
    const expires = new Date(Date.now() + 60_000);
    expect(await ctx.store.useJti('iss', 'jti-1', expires)).toBe(true);
    expect(await ctx.store.useJti('iss', 'jti-1', expires)).toBe(false);
    expect(await ctx.store.useJti('other-iss', 'jti-1', expires)).toBe(true);
  });

  it('purges used jtis an hour after they expired, but not before', async () => {
    await ctx.store.useJti('iss', 'long-gone', new Date(Date.now() - 2 * 60 * 60_000));
    await ctx.store.useJti('iss', 'just-expired', new Date(Date.now() - 60_000));
    await ctx.store.useJti('iss', 'trigger-purge', new Date(Date.now() + 60_000));
    const rows = await ctx.sql.query<{ jti: string }>(
      "SELECT jti FROM used_jtis WHERE jti IN ('long-gone', 'just-expired')",
    );
    expect(rows.map((r) => r.jti)).toEqual(['just-expired']);
  });

  it('stores sessions, finds them by token hash and claims, and keeps the first end', async () => {
    const s = session();
    await ctx.store.createSession(s);
    expect(await ctx.store.getSession(s.id)).toEqual(s);
    expect((await ctx.store.findSessionByTokenHash(s.tokenHash))?.id).toBe(s.id);
    expect((await ctx.store.findSessionsByClaims({ run_id: '42', job: 'deploy' })).map((x) => x.id)).toContain(s.id);
    expect(await ctx.store.findSessionsByClaims({ run_id: '43' })).toEqual([]);
    expect(await ctx.store.findSessionsByClaims({})).toEqual([]);
    expect((await ctx.store.listOpenSessions()).map((x) => x.id)).toContain(s.id);

    await ctx.store.addSessionSshKey(s.id, 'ssh-ed25519 AAAA key1');
    await ctx.store.addSessionSshKey(s.id, 'ssh-ed25519 AAAA key1');
    expect((await ctx.store.getSession(s.id))?.sshKeys).toEqual(['ssh-ed25519 AAAA key1']);

    await ctx.store.endSession(s.id, 'disconnect', new Date('2026-01-01T10:05:00.000Z'));
    await ctx.store.endSession(s.id, 'expired', new Date('2026-01-01T10:15:00.000Z'));
    const ended = await ctx.store.getSession(s.id);
    expect(ended?.endReason).toBe('disconnect');
    expect(ended?.endedAt?.toISOString()).toBe('2026-01-01T10:05:00.000Z');
    expect((await ctx.store.listOpenSessions()).map((x) => x.id)).not.toContain(s.id);
  });

  it('rejects a second session with the same token hash', async () => {
    const s = session();
    await ctx.store.createSession(s);
    await expect(ctx.store.createSession({ ...session(), tokenHash: s.tokenHash })).rejects.toThrow();
  });

  it('appends audit events in order and refuses a duplicate sequence number', async () => {
    const sessionId = randomUUID();
    const events = [1, 2, 3].map((seq) => ({
      sessionId,
      seq,
      type: 'statement',
      at: new Date(Date.UTC(2026, 0, 1, 10, 0, seq)),
      data: { text: `SELECT ${seq}`, nul: 'a\u0000b', nested: { z: 1, a: [1, 'x'] } },
      prevHash: `p${seq}`,
      hash: `h${seq}`,
    }));
    await ctx.store.appendAuditEvents(events);
    expect(await ctx.store.listAuditEvents(sessionId)).toEqual(events);
    expect((await ctx.store.lastAuditEvent(sessionId))?.seq).toBe(3);
    await expect(
      ctx.store.appendAuditEvents([
        { ...events[0]!, seq: 4 },
        { ...events[1]!, seq: 2 },
      ]),
    ).rejects.toThrow();
    expect(await ctx.store.listAuditEvents(sessionId)).toHaveLength(3);
    expect(await ctx.store.listUnsealedAuditSessions()).toContain(sessionId);
    expect(await ctx.store.lastAuditEvent(randomUUID())).toBeNull();
  });

  it('refuses updates and deletes of audit events', async () => {
    const sessionId = randomUUID();
    await ctx.store.appendAuditEvents([
      { sessionId, seq: 1, type: 'statement', at: new Date(), data: {}, prevHash: 'a', hash: 'b' },
    ]);
    await expect(ctx.sql.query('DELETE FROM audit_events WHERE session_id = $1', [sessionId])).rejects.toThrow(
      /append-only/,
    );
    await expect(
      ctx.sql.query("UPDATE audit_events SET type = 'x' WHERE session_id = $1", [sessionId]),
    ).rejects.toThrow(/append-only/);
  });

  it('decides a pending approval once and notifies the listener', async () => {
    const a = approval(randomUUID());
    await ctx.store.createApproval(a);
    expect((await ctx.store.listPendingApprovals()).map((x) => x.id)).toContain(a.id);
    const heard = new Promise<string>((resolve) => {
      const stop = ctx.store.onApprovalDecided((id) => {
        if (id === a.id) {
          stop();
          resolve(id);
        }
      });
    });
    await new Promise((r) => setTimeout(r, 150));
    const at = new Date('2026-01-01T10:02:00.000Z');
    expect(await ctx.store.decideApproval(a.id, { status: 'approved', decidedBy: ['octocat'], reason: 'ok' }, at)).toBe(
      true,
    );
    expect(await ctx.store.decideApproval(a.id, { status: 'denied', decidedBy: ['mallory'], reason: null }, at)).toBe(
      false,
    );
    expect(await heard).toBe(a.id);
    const decided = await ctx.store.getApproval(a.id);
    expect(decided).toMatchObject({
      status: 'approved',
      decidedBy: ['octocat'],
      reason: 'ok',
      settings: { approvals: 1 },
    });
    expect(decided?.decidedAt?.toISOString()).toBe(at.toISOString());
    expect((await ctx.store.listPendingApprovals()).map((x) => x.id)).not.toContain(a.id);
  });
});

describe.each(ENGINES.filter((e) => e.name === 'postgres'))('SqlStore replicas on $name', (engine) => {
  let ctx: EngineStore;
  let replica: SqlStore;
  beforeAll(async () => {
    ctx = await engine.open();
    replica = new SqlStore(createPgExecutor(ctx.location, { max: 2 }));
  });
  afterAll(async () => {
    await replica?.close();
    await ctx?.drop();
  });

  it('delivers an approval decided on one replica to listeners on another', async () => {
    const a = approval(randomUUID());
    await ctx.store.createApproval(a);
    const heard = new Promise<string>((resolve) => {
      const stop = replica.onApprovalDecided((id) => {
        stop();
        resolve(id);
      });
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(
      await ctx.store.decideApproval(a.id, { status: 'denied', decidedBy: ['octocat'], reason: 'no' }, new Date()),
    ).toBe(true);
    expect(await heard).toBe(a.id);
    expect((await replica.getApproval(a.id))?.status).toBe('denied');
  });

  it('lets replicas migrate the same database at the same time', async () => {
    const db = await createTestDatabase('');
    const stores = [
      new SqlStore(createPgExecutor(db.url, { max: 2 })),
      new SqlStore(createPgExecutor(db.url, { max: 2 })),
    ];
    try {
      await Promise.all(stores.map((s) => s.migrate()));
      expect(await stores[0]!.putSecretIfAbsent('k', 'v')).toBe('v');
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await db.drop();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { usingRealServer, withAdmin } from '../../support/pg-target.ts';
import { loadDevIssuerKey, mintDevToken } from '../../../gateway/identity/dev-issuer.ts';
import { systemClock } from '../../../gateway/identity/session-context.ts';
import { PUBLIC_URL, startReplicaBed, type ReplicaBed } from './replica-bed.ts';

/** A connected client and the moment (ms since `since`) it was ended by the gateway. */
async function connected(url: string): Promise<{ client: pg.Client; ended: Promise<number>; since: () => void }> {
  const client = new pg.Client({ connectionString: url });
  let start = 0;
  const ended = new Promise<number>((resolve) => {
    client.on('error', () => resolve(performance.now() - start));
    client.on('end', () => resolve(performance.now() - start));
  });
  await client.connect();
  await client.query('SELECT 1');
  return { client, ended, since: () => (start = performance.now()) };
}

async function deleteSession(httpUrl: string, session: { id: string; token: string }): Promise<number> {
  const response = await fetch(`${httpUrl}/v1/sessions/${session.id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${session.token}` },
  });
  await response.body?.cancel();
  return response.status;
}

describe.runIf(usingRealServer())('sessions across replicas on one PostgreSQL store', { timeout: 60_000 }, () => {
  let bed: ReplicaBed;
  beforeAll(async () => {
    bed = await startReplicaBed(2, { start: { sessionEnds: { pollMs: 300, sweepMs: 500 } } });
  }, 60_000);
  afterAll(async () => {
    await bed?.close();
  });

  it('closes a connection on replica B within a second of DELETE /v1/sessions/:id on replica A', async () => {
    const [a, b] = bed.replicas as [NonNullable<(typeof bed.replicas)[0]>, NonNullable<(typeof bed.replicas)[0]>];
    const session = await bed.openSession(a);
    const onB = await connected(bed.pgUrl(b, session.token));
    onB.since();
    expect(await deleteSession(a.httpUrl, session)).toBe(200);
    const ms = await onB.ended;
    if (process.env.REPORT_TIMINGS) console.log(`end reached replica B after ${ms.toFixed(1)} ms`);
    expect(ms).toBeLessThan(1000);
    await expect(new pg.Client({ connectionString: bed.pgUrl(b, session.token) }).connect()).rejects.toThrow(
      /not a valid gateway session token/,
    );
    expect(b.live.count(session.id)).toBe(0);
  });

  it('still ends the connection on B within a second when the notification is lost (the poll)', async () => {
    const [a, b] = bed.replicas as [NonNullable<(typeof bed.replicas)[0]>, NonNullable<(typeof bed.replicas)[0]>];
    const session = await bed.openSession(a);
    const onB = await connected(bed.pgUrl(b, session.token));
    await withAdmin((c) =>
      c.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'gatehouse-listen'",
        [bed.store.database],
      ),
    );
    // The listening connections are gone; they come back a second after their error, past this revoke.
    await new Promise((r) => setTimeout(r, 200));
    const listening = await withAdmin((c) =>
      c.query("SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = 'gatehouse-listen'", [
        bed.store.database,
      ]),
    );
    expect(listening.rowCount).toBe(0);
    onB.since();
    expect(await a.sessions.revoke(session.id, 'revoked')).toBe(true);
    const polled = await onB.ended;
    if (process.env.REPORT_TIMINGS) console.log(`end reached replica B by the poll after ${polled.toFixed(1)} ms`);
    expect(polled).toBeLessThan(1000);
    expect(bed.logs[1]!.join('\n')).toContain(
      `session.ended-elsewhere {"sessionId":"${session.id}","reason":"revoked"}`,
    );
  });

  it('ends a session at its expiry on B, in the store too, after the replica that created it is gone', async () => {
    const [a, b] = bed.replicas as [NonNullable<(typeof bed.replicas)[0]>, NonNullable<(typeof bed.replicas)[0]>];
    const session = await bed.openSession(a, '2s');
    const onB = await connected(bed.pgUrl(b, session.token));
    await a.close();
    bed.replicas.splice(0, 1);
    await onB.ended;
    expect(Date.now()).toBeGreaterThanOrEqual(new Date(session.expires_at).getTime() - 50);
    for (let i = 0; i < 40 && !(await b.store.getSession(session.id))?.endedAt; i++)
      await new Promise((r) => setTimeout(r, 50));
    const stored = await b.store.getSession(session.id);
    expect(stored?.endReason).toBe('expired');
  });

  it('sweeps a session left by a dead replica that nobody is using, once its expiry passed', async () => {
    const b = bed.replicas[0]!;
    const id = `sess_dead_${Date.now()}`;
    const now = Date.now();
    await b.store.createSession({
      id,
      tokenHash: `hash-${id}`,
      identityRule: 'ci',
      claims: { repository: 'acme/app' },
      connections: ['app-db'],
      createdAt: new Date(now),
      expiresAt: new Date(now + 700),
      endedAt: null,
      endReason: null,
      sshKeys: [],
    });
    for (let i = 0; i < 60 && !(await b.store.getSession(id))?.endedAt; i++)
      await new Promise((r) => setTimeout(r, 50));
    const stored = await b.store.getSession(id);
    expect(stored?.endReason).toBe('expired');
    expect(stored?.endedAt?.getTime()).toBe(now + 700);
    expect(bed.logs[1]!.join('\n')).toContain(`"sessionId":"${id}","reason":"expired","by":"expiry-sweep"`);
  });
});

describe.runIf(usingRealServer())('single-use tokens across replicas', { timeout: 60_000 }, () => {
  let bed: ReplicaBed;
  beforeAll(async () => {
    bed = await startReplicaBed(2);
  }, 60_000);
  afterAll(async () => {
    await bed?.close();
  });

  it('grants one session for an OIDC token presented to two replicas at once, and refuses the replay', async () => {
    const [a, b] = bed.replicas as [NonNullable<(typeof bed.replicas)[0]>, NonNullable<(typeof bed.replicas)[0]>];
    const jwt = await mintDevToken(
      await loadDevIssuerKey(a.store),
      PUBLIC_URL,
      { repository: 'acme/app' },
      systemClock,
    );
    const exchange = (httpUrl: string) =>
      fetch(`${httpUrl}/v1/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: jwt }),
      }).then(async (response) => ({
        status: response.status,
        body: (await response.json()) as { error?: { code: string } },
      }));
    const answers = await Promise.all([
      exchange(a.httpUrl),
      exchange(b.httpUrl),
      exchange(a.httpUrl),
      exchange(b.httpUrl),
    ]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 401, 401, 401]);
    expect(answers.filter((answer) => answer.status === 401).map((answer) => answer.body.error?.code)).toEqual([
      'token.replayed',
      'token.replayed',
      'token.replayed',
    ]);
  });
});

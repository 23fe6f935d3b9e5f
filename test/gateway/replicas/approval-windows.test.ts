import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../../gateway/server/gateway.ts';
import { usingRealServer } from '../../support/pg-target.ts';
import { startReplicaBed, type ReplicaBed } from './replica-bed.ts';

const WINDOW_RULES = `rules:
  - name: orders-need-review
    action: review
    when: { tables_written: [orders] }
    reason: "changing orders needs a reviewer"
    review: { timeout: 1m, window: 10m }
`;

async function run(url: string, sql: string): Promise<number | null> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rowCount;
  } finally {
    await client.end();
  }
}

describe.runIf(usingRealServer())('approval windows across replicas', { timeout: 60_000 }, () => {
  let bed: ReplicaBed;
  beforeAll(async () => {
    bed = await startReplicaBed(2, { policyYaml: WINDOW_RULES });
  }, 60_000);
  afterAll(async () => {
    await bed?.close();
  });

  it("lets the session's connections on replica B use a window approved on replica A, and no other session", async () => {
    const [a, b] = bed.replicas as [RunningGateway, RunningGateway];
    const session = await bed.openSession(a);
    const first = run(bed.pgUrl(a, session.token), "UPDATE orders SET status = 'windowed' WHERE id = 7");
    let pending = await a.store.listPendingApprovals();
    for (let i = 0; i < 200 && pending.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
      pending = await a.store.listPendingApprovals();
    }
    expect(pending).toHaveLength(1);
    await a.broker.decide(pending[0]!.id, { approved: true, by: ['alice'] });
    expect(await first).toBe(1);

    expect(await run(bed.pgUrl(b, session.token), "UPDATE orders SET status = 'windowed' WHERE id = 8")).toBe(1);
    expect(await b.store.listPendingApprovals()).toEqual([]);
    await b.recorder.flush();
    const events = await b.store.listAuditEvents(session.id);
    const onB = events.find((e) => e.type === 'statement' && String(e.data.text).includes('id = 8'));
    expect(onB?.data).toMatchObject({ decision: 'allow', approval_id: pending[0]!.id });

    const other = await bed.openSession(a);
    const held = run(bed.pgUrl(b, other.token), "UPDATE orders SET status = 'windowed' WHERE id = 9").catch(
      (error: pg.DatabaseError) => error.code,
    );
    let asked = await b.store.listPendingApprovals();
    for (let i = 0; i < 200 && asked.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
      asked = await b.store.listPendingApprovals();
    }
    expect(asked.map((approval) => approval.sessionId)).toEqual([other.id]);
    await b.broker.decide(asked[0]!.id, { approved: false, by: ['alice'] });
    expect(await held).toBe('42501');
  });
});

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGitHubSpec } from '../support/fake-github/openapi-operations.ts';
import { RUN_ID, SHA, payload, waitFor } from './harness.ts';
import { startGatewayTestbed, type GatewayTestbed } from './gateway-testbed.ts';

let bed: GatewayTestbed;
let session: { id: string; token: string };

beforeAll(async () => {
  bed = await startGatewayTestbed(loadGitHubSpec());
  session = await bed.session();
});

afterAll(async () => {
  await bed?.close();
});

async function planOf(id: number): Promise<string> {
  const direct = new pg.Client({ connectionString: bed.target.url });
  await direct.connect();
  try {
    return (await direct.query('SELECT plan FROM accounts WHERE id = $1', [id])).rows[0].plan;
  } finally {
    await direct.end();
  }
}

const checkRuns = (): Record<string, any>[] => [...bed.github.fake.model.checkRuns.values()];

describe('approvals end to end through the gateway and PostgreSQL', () => {
  it('runs a held UPDATE after a collaborator with write access approves it on the pull request', async () => {
    const { id, result } = await bed.held(session.token, "UPDATE accounts SET plan = 'pro' WHERE id = 42");
    expect(await planOf(42)).toBe('free');
    const request = bed.github.fake.model.comments.find((c) => c.body.includes(`/gatehouse approve ${id}`));
    expect(request?.body).toContain("UPDATE accounts SET plan = 'pro' WHERE id = 42");
    await bed.comment(`/gatehouse approve ${id}`, bed.github.cast.alice);
    expect((await result).rowCount).toBe(1);
    expect(await planOf(42)).toBe('pro');
    expect(bed.github.fake.problems).toEqual([]);
  });

  it("keeps it held for the workflow's actor, a read-only user and an edited comment, then refuses it on denial", async () => {
    const { id, result } = await bed.held(session.token, "UPDATE accounts SET plan = 'pro' WHERE id = 43");
    const { actor, rita, alice } = bed.github.cast;
    await bed.comment(`/gatehouse approve ${id}`, actor);
    await bed.comment(`/gatehouse approve ${id}`, rita);
    await bed.comment(`/gatehouse approve ${id}`, alice, 'edited');
    expect(await bed.gateway.store.getApproval(id)).toMatchObject({ status: 'pending' });
    expect(bed.github.fake.model.comments.at(-2)?.body).toContain('cannot approve');
    expect(bed.github.fake.model.comments.at(-1)?.body).toContain('has read permission');
    await bed.comment(`/gatehouse deny ${id} wrong account`, alice);
    await expect(result).rejects.toMatchObject({
      code: '42501',
      message: expect.stringContaining('denied by alice: wrong account'),
    });
    expect(await planOf(43)).toBe('free');
  });

  it('refuses a held statement nobody answers in time', async () => {
    const { id, result } = await bed.held(session.token, 'UPDATE carts SET items = 5 WHERE id = 1');
    await expect(result).rejects.toMatchObject({
      code: '42501',
      message: expect.stringContaining('approval timed out'),
    });
    await waitFor(
      () => checkRuns().some((c) => c.external_id === id && c.conclusion === 'timed_out'),
      'the timed-out check run',
    );
  });

  it('posts the audit check run with the masked log when the job completes', async () => {
    const event = payload('workflow_job.completed', (p) => {
      p.workflow_job = { ...p.workflow_job, id: 777, run_id: RUN_ID, run_attempt: 1, head_sha: SHA };
    });
    await bed.probot.receive({ id: 'e2e-job', name: 'workflow_job', payload: event } as any);
    const audit = checkRuns().find((c) => c.name === 'gatehouse / app-db' && c.external_id === session.id);
    expect(audit).toMatchObject({ status: 'completed', conclusion: 'failure', head_sha: SHA });
    expect(audit!.output.text).toContain("UPDATE accounts SET plan = 'pro' WHERE id = 42");
    expect(audit!.output.text).toContain(`approval`);
    expect((await bed.gateway.store.getSession(session.id))?.endedAt).not.toBeNull();
    expect(bed.github.fake.problems).toEqual([]);
  });

  it('marks a request held across a gateway restart abandoned, since its client is gone', async () => {
    const fresh = await bed.session();
    const { id, result, client } = await bed.held(fresh.token, "UPDATE accounts SET plan = 'gold' WHERE id = 43");
    await bed.restart(async () => {
      await expect(result).rejects.toBeDefined();
      await client.end();
    });
    expect(await planOf(43)).toBe('free');
    expect(await bed.gateway.store.getApproval(id)).toMatchObject({ status: 'abandoned' });
    await waitFor(
      () => checkRuns().some((c) => c.external_id === id && c.conclusion === 'cancelled'),
      'the abandoned check run',
    );
  });
});

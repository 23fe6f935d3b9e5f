import { randomUUID } from 'node:crypto';
import { appendFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeChains } from '../../../gateway/audit/audit-log.ts';
import { loadDevIssuerKey, mintDevToken } from '../../../gateway/identity/dev-issuer.ts';
import { systemClock } from '../../../gateway/identity/session-context.ts';
import { createStore } from '../../../gateway/store/create-store.ts';
import type { Store } from '../../../gateway/store/store.ts';
import { GATEWAY_APP_ROUTES, routePath, signMessage } from '../../../wire/approvals.ts';
import { createTestDatabase, usingRealServer, type TestDatabase } from '../../support/pg-target.ts';
import { cli, gatewayProcess, PUBLIC_URL, type GatewayProcess } from '../audit/support/gateway-process.ts';
import { startRoundRobin, type RoundRobin } from './round-robin.ts';
import { runTimedLoad } from './timed-load.ts';

const SECRET = 'replicas-approvals-secret-0123456789abcdef';
const REVIEW = `rules:
  - name: orders-need-review
    action: review
    when: { tables_written: [orders] }
    reason: "changing orders needs a reviewer"
    review: { timeout: 1m }
`;

let store: TestDatabase;
let target: TestDatabase;
let db: Store;
let gateways: GatewayProcess[];
let pgLb: RoundRobin;
let httpLb: RoundRobin;
const say = (line: string) => process.env.REPORT_TIMINGS && console.log(line);

/** One HTTP request on a fresh TCP connection, so the balancer picks a replica for each. */
function request(
  port: number,
  method: string,
  pathname: string,
  options: { body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path: pathname, agent: false, headers: options.headers },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const portOf = (url: string) => Number(new URL(url).port);

async function openSession(port: number, ttl?: string): Promise<{ id: string; token: string; expires_at: string }> {
  const jwt = await mintDevToken(await loadDevIssuerKey(db), PUBLIC_URL, { repository: 'acme/app' }, systemClock);
  const body = JSON.stringify({ token: jwt, connections: ['app-db'], ...(ttl ? { ttl } : {}) });
  const res = await request(port, 'POST', '/v1/sessions', { body, headers: { 'content-type': 'application/json' } });
  if (res.status !== 201) throw new Error(`no session: ${res.status} ${res.body}`);
  return JSON.parse(res.body) as { id: string; token: string; expires_at: string };
}

const pgUrl = (port: number, token: string) => `postgres://ci:${encodeURIComponent(token)}@127.0.0.1:${port}/app-db`;

async function pendingApproval() {
  for (let i = 0; i < 200; i++) {
    const [pending] = await db.listPendingApprovals();
    if (pending) return pending;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no approval was requested');
}

describe.runIf(usingRealServer())(
  'three gatehouse serve replicas on one PostgreSQL store',
  { timeout: 240_000 },
  () => {
    beforeAll(async () => {
      target = await createTestDatabase();
      store = await createTestDatabase('');
      gateways = await Promise.all(
        [0, 1, 2].map(() => gatewayProcess({ store: store.url, target: target.url, auditYaml: ['durability: write'] })),
      );
      for (const gateway of gateways) {
        writeFileSync(path.join(gateway.dir, 'policies', 'review.yaml'), REVIEW);
        appendFileSync(gateway.config, `\napprovals: { secret: ${SECRET} }\n`);
      }
      for (const gateway of gateways) await gateway.start();
      db = await createStore(store.url, { mustExist: true });
      pgLb = await startRoundRobin(gateways.map((g) => g.pgPort));
      httpLb = await startRoundRobin(gateways.map((g) => portOf(g.httpUrl)));
    }, 180_000);

    afterAll(async () => {
      await pgLb?.close();
      await httpLb?.close();
      await Promise.all((gateways ?? []).map((g) => g.stop()));
      for (const g of gateways ?? []) g.cleanup();
      await db?.close();
      await target?.drop();
      await store?.drop();
    });

    it('serves one job across replicas: approvals cross them, a kill -9, revocation on one and expiry on another end it everywhere, and the merged log verifies', async () => {
      const [a, b, c] = gateways as [GatewayProcess, GatewayProcess, GatewayProcess];
      const session = await openSession(httpLb.port);
      const load = runTimedLoad(pgUrl(pgLb.port, session.token), 6);
      await load.reached(300);
      expect([...pgLb.counts.values()].every((n) => n >= 2)).toBe(true);

      // An approval decided on one replica releases the statement held on another.
      const writer = new pg.Client({ connectionString: pgUrl(pgLb.port, session.token) });
      writer.on('error', () => {});
      await writer.connect();
      const update = writer.query("UPDATE orders SET status = 'scaled' WHERE id = 5");
      const approval = await pendingApproval();
      const holder = String((approval.settings as { replicaId?: string }).replicaId);
      const decider = gateways.find((g) => !holder.includes(`:${portOf(g.httpUrl)}#`))!;
      const binding = (approval.settings as { binding: Record<string, string> }).binding;
      const message = JSON.stringify({
        id: approval.id,
        approved: true,
        by: ['reviewer'],
        statementHash: approval.statementHash,
        sha: binding.sha,
        runId: binding.runId,
        runAttempt: binding.runAttempt,
        nonce: randomUUID(),
      });
      const decided = await request(
        portOf(decider.httpUrl),
        'POST',
        routePath(GATEWAY_APP_ROUTES.decision, approval.id),
        {
          body: message,
          headers: { 'content-type': 'application/json', ...signMessage(SECRET, message, new Date()) },
        },
      );
      expect(decided.status).toBe(200);
      expect((await update).rowCount).toBe(1);
      await writer.end();

      // kill -9 of a third replica mid-run: its clients fail, the others keep going.
      const beforeKill = load.succeeded.size;
      await c.kill();
      await load.reached(beforeKill + 300);

      // Revocation on one replica ends the session on every other.
      const deleteSent = Date.now();
      const revoked = await request(portOf(b.httpUrl), 'DELETE', `/v1/sessions/${session.id}`, {
        headers: { authorization: `Bearer ${session.token}` },
      });
      const deleteAnswered = Date.now();
      expect(revoked.status).toBe(200);
      await load.stop();
      const lastSuccess = Math.max(...[...load.succeeded.values()]);
      say(
        `revocation: last statement succeeded ${lastSuccess - deleteSent} ms after DELETE was sent; DELETE answered after ${deleteAnswered - deleteSent} ms`,
      );
      expect(lastSuccess - deleteSent).toBeLessThan(1000);
      const cut = load
        .endedAt()
        .filter((at) => at >= deleteSent)
        .map((at) => at - deleteSent);
      say(
        `revocation: ${cut.length} connections on the 2 live replicas ended ${Math.min(...cut)}..${Math.max(...cut)} ms after DELETE was sent`,
      );
      expect(cut.length).toBe(4);
      expect(Math.max(...cut)).toBeLessThan(1000);
      await expect(new pg.Client({ connectionString: pgUrl(pgLb.port, session.token) }).connect()).rejects.toThrow(
        /not a valid gateway session token/,
      );

      // Expiry on another replica: created on A, used on B, ended by B at its expiry.
      const short = await openSession(portOf(a.httpUrl), '3s');
      const onB = runTimedLoad(pgUrl(b.pgPort, short.token), 1, 'short');
      await onB.reached(5);
      await onB.stop();
      const expiresAt = new Date(short.expires_at).getTime();
      const ended = onB.endedAt()[0]!;
      say(`expiry: connection on replica B ended ${ended - expiresAt} ms after expires_at`);
      expect(ended - expiresAt).toBeLessThan(1000);
      // A statement sent before expiry may be answered just after it; none sent after expiry runs.
      expect(Math.max(...onB.sentAt.values())).toBeLessThan(expiresAt);
      expect(onB.errors[0]).toMatch(/expired/);
      for (let i = 0; i < 40 && !(await db.getSession(short.id))?.endedAt; i++)
        await new Promise((r) => setTimeout(r, 50));
      expect((await db.getSession(short.id))?.endReason).toBe('expired');

      // The killed replica comes back on its journal and seals its chain; every chain then verifies.
      // Each replica signs with its own key: pin all three, as printed by `gatehouse audit key` on each host.
      await c.start();
      const keys: string[] = [];
      for (const [i, gateway] of gateways.entries()) {
        const printed = await cli(['audit', 'key', '--config', gateway.config]);
        expect(printed.code).toBe(0);
        keys.push('--public-key', path.join(gateway.dir, `audit-key-${i}.pem`));
        writeFileSync(keys.at(-1)!, printed.stdout);
      }
      for (const id of [session.id, short.id]) {
        const verify = await cli(['audit', 'verify', id, '--store', store.url, ...keys]);
        say(`audit verify ${id}: ${verify.stdout.trim()} ${verify.stderr.trim()}`);
        expect(verify.stdout).toMatch(/^verified \d+ events/);
        expect(verify.stderr).toBe('');
        expect(verify.code).toBe(0);
      }
      const chains = await db.listAuditChains(session.id);
      expect(new Set(chains.map((chain) => chain.gateway)).size).toBe(3);
      const logged = new Set(
        mergeChains(await db.listAuditEvents(session.id))
          .filter((e) => e.type === 'statement')
          .map((e) => e.data.text),
      );
      const missing = [...load.succeeded.keys()].filter((key) => !logged.has(`SELECT '${key}' AS k`));
      say(
        `log: ${load.succeeded.size} statements seen succeeding on 3 replicas, ${missing.length} missing from the merged log`,
      );
      expect(missing).toEqual([]);
    });
  },
);

import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATIC_TOKEN, startTestGateway, type GatewayUnderTest } from '../../support/gateway-harness.ts';
import { createTestDatabase, type TestDatabase } from '../../support/pg-target.ts';

let db: TestDatabase;
let gateway: GatewayUnderTest;

const LIMITS = [
  'limits:',
  '  authentication_timeout_seconds: 1',
  '  max_unauthenticated_per_source: 20',
  '  max_unauthenticated_connections: 40',
  '  max_connections_per_session: 3',
].join('\n');

beforeAll(async () => {
  db = await createTestDatabase();
  gateway = await startTestGateway(db, { extraYaml: LIMITS });
});
afterAll(async () => {
  await gateway?.close();
  await db?.drop();
});

function startupMessage(params: Record<string, string>): Buffer {
  const body = Buffer.from(
    `${Object.entries(params)
      .map(([k, v]) => `${k}\0${v}\0`)
      .join('')}\0`,
  );
  const head = Buffer.alloc(8);
  head.writeInt32BE(body.length + 8, 0);
  head.writeInt32BE(196608, 4);
  return Buffer.concat([head, body]);
}

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/** A raw client: what it sends, everything it got back, and when the gateway closed it. */
function rawClient(first: Buffer) {
  const socket = net.connect({ host: '127.0.0.1', port: gateway.postgresPort }, () => socket.write(first));
  const received: Buffer[] = [];
  socket.on('data', (chunk) => received.push(chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<Buffer>((resolve) => socket.on('close', () => resolve(Buffer.concat(received))));
  return { socket, closed, received: () => Buffer.concat(received) };
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function client(database = 'app-db') {
  return new pg.Client({
    host: '127.0.0.1',
    port: gateway.postgresPort,
    user: 'ci',
    password: STATIC_TOKEN,
    database,
  });
}

describe('hostile clients on the PostgreSQL listener', () => {
  it('bounds silent logins per source, closes them after the login timeout, and keeps live sessions working', async () => {
    const healthy = client();
    await healthy.connect();
    try {
      const silent = Array.from({ length: 20 }, () => rawClient(SSL_REQUEST));
      await settle(200);
      const extra = rawClient(SSL_REQUEST);
      const refused = await extra.closed;
      expect(refused.toString()).toContain('too many connections from');
      expect(refused.toString()).toContain('53300');
      const { rows } = await healthy.query('SELECT count(*)::int AS n FROM customers');
      expect(rows[0].n).toBe(3);
      const started = Date.now();
      const answers = await Promise.all(silent.map((s) => s.closed));
      expect(Date.now() - started).toBeLessThan(3000);
      for (const answer of answers) expect(answer.toString()).toContain('canceling authentication due to timeout');
      const after = client();
      await after.connect();
      expect((await after.query('SELECT 1 AS one')).rows[0].one).toBe(1);
      await after.end();
    } finally {
      await healthy.end();
    }
  });

  it('says nothing about the gateway connections before the token is verified', async () => {
    const probe = rawClient(startupMessage({ user: 'ci', database: 'no-such-db' }));
    await settle(200);
    // The gateway asks for the password (AuthenticationCleartextPassword) instead of naming connections.
    expect(probe.received().subarray(0, 9)).toEqual(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]));
    probe.socket.write(Buffer.concat([Buffer.from([0x70, 0, 0, 0, 10]), Buffer.from('wrong\0')]));
    const answer = (await probe.closed).toString();
    expect(answer).toContain('28P01');
    expect(answer).not.toContain('app-db');
    const known = client('no-such-db');
    await expect(known.connect()).rejects.toMatchObject({
      code: '3D000',
      hint: expect.stringContaining('this session may use: app-db'),
    });
  });

  it('refuses a session more connections than limits.max_connections_per_session, and admits one once another closed', async () => {
    const open = [client(), client(), client()];
    for (const c of open) await c.connect();
    try {
      const fourth = client();
      await expect(fourth.connect()).rejects.toMatchObject({
        code: '53300',
        message: expect.stringContaining('limits.max_connections_per_session is 3'),
      });
      await open.pop()!.end();
      await settle(100);
      const replacement = client();
      await replacement.connect();
      open.push(replacement);
      expect((await replacement.query('SELECT 2 AS two')).rows[0].two).toBe(2);
    } finally {
      await Promise.all(open.map((c) => c.end()));
    }
  });

  it("gives the client the target's backend pid, so it recognises its own notifications", async () => {
    const listener = client();
    await listener.connect();
    try {
      const pid = (listener as unknown as { processID: number }).processID;
      expect((await listener.query('SELECT pg_backend_pid() AS pid')).rows[0].pid).toBe(pid);
      await listener.query('LISTEN deploys');
      const notified = new Promise<pg.Notification>((resolve) => listener.once('notification', resolve));
      await listener.query("NOTIFY deploys, 'v2'");
      expect(await notified).toMatchObject({ processId: pid, channel: 'deploys', payload: 'v2' });
    } finally {
      await listener.end();
    }
  });

  it('closes quietly on a Terminate sent before the startup message', async () => {
    const quick = rawClient(Buffer.from([0x58, 0, 0, 0, 4]));
    expect((await quick.closed).length).toBe(0);
  });
});

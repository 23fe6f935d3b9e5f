import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeStartup } from '../../../gateway/client/local-pg-auth.ts';
import { startLocalProxy, type LocalProxy } from '../../../gateway/client/local-proxy.ts';
import { createTestDatabase, type TestDatabase } from '../../support/pg-target.ts';
import { startHttpHarness, type HttpHarness } from '../http/http-harness.ts';

let h: HttpHarness;
let db: TestDatabase;
const startups: Record<string, string>[] = [];
const proxies: LocalProxy[] = [];
const registeredKeys: { sessionId: string; publicKey: string; bearer: string | undefined }[] = [];
const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl gatehouse';

/**
 * Stands in for the gateway's PostgreSQL adapter on tunnel streams: reads the forwarded
 * StartupMessage, then speaks to the real test database as its user, relaying bytes both ways.
 */
function pgTarget(stream: Duplex): void {
  let buffered: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    if (buffered.length < 4 || buffered.length < buffered.readInt32BE(0)) return;
    stream.off('data', onData);
    stream.pause();
    const length = buffered.readInt32BE(0);
    const parts = buffered.subarray(8, length).toString('utf8').split('\0').slice(0, -2);
    const params: Record<string, string> = {};
    for (let i = 0; i < parts.length; i += 2) params[parts[i]!] = parts[i + 1]!;
    startups.push(params);
    const target = net.connect(db.port, db.host, () => {
      target.write(
        encodeStartup([
          ['user', db.user],
          ['database', db.database],
        ]),
      );
      target.write(buffered.subarray(length));
      stream.pipe(target);
      target.pipe(stream);
      stream.resume();
    });
    target.on('error', () => stream.destroy());
    stream.on('error', () => target.destroy());
  };
  stream.on('data', onData);
}

beforeAll(async () => {
  db = await createTestDatabase('CREATE TABLE t (n int); INSERT INTO t VALUES (41);');
  h = await startHttpHarness({
    onTunnel: (connection, stream) => {
      if (connection === 'app-db') pgTarget(stream);
      else stream.pipe(stream);
    },
    extraRoutes: async (req, res) => {
      const match = /^\/v1\/sessions\/([^/]+)\/ssh-keys$/.exec(req.url ?? '');
      if (!match || req.method !== 'POST') return false;
      let body = '';
      for await (const chunk of req) body += chunk;
      registeredKeys.push({
        sessionId: match[1]!,
        publicKey: (JSON.parse(body) as { public_key: string }).public_key,
        bearer: req.headers.authorization,
      });
      res
        .writeHead(201, { 'content-type': 'application/json' })
        .end(JSON.stringify({ fingerprint: 'SHA256:x', host_key: HOST_KEY, host_key_fingerprint: 'SHA256:y' }));
      return true;
    },
  });
});
afterAll(async () => {
  for (const proxy of proxies) await proxy.close();
  await h.close();
  await db.drop();
});

async function start(connections: { name: string; port?: number }[], claims: Record<string, unknown> = {}) {
  const proxy = await startLocalProxy({
    gateway: h.url,
    credential: { oidcToken: await h.issuer.mint(claims) },
    connections,
  });
  proxies.push(proxy);
  return proxy;
}

describe('local proxy', () => {
  it('announces each connection with a local URL and a per-session password', async () => {
    const proxy = await start([]);
    expect(proxy.ready).toMatchObject({
      session_id: expect.stringMatching(/^ses_/),
      connections: [{ name: 'app-db', type: 'postgres', host: '127.0.0.1', user: 'ci', database: 'app-db' }],
    });
    const [conn] = proxy.ready.connections;
    expect(conn!.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(conn!.url).toBe(`postgresql://ci:${conn!.password}@127.0.0.1:${conn!.port}/app-db`);
  });

  it('runs a query from a PostgreSQL client through the local password check and the tunnel', async () => {
    const proxy = await start([{ name: 'app-db' }]);
    const client = new pg.Client({ connectionString: proxy.ready.connections[0]!.url });
    await client.connect();
    try {
      expect((await client.query('SELECT n + 1 AS answer FROM t')).rows).toEqual([{ answer: 42 }]);
    } finally {
      await client.end();
    }
    expect(startups.at(-1)).toMatchObject({ user: 'ci', database: 'app-db' });
  });

  it('refuses a client with the wrong local password before opening any tunnel', async () => {
    const proxy = await start([{ name: 'app-db' }]);
    const tunnelsBefore = h.tunnels.length;
    const { port } = proxy.ready.connections[0]!;
    const client = new pg.Client({
      host: '127.0.0.1',
      port,
      user: 'ci',
      database: 'app-db',
      password: 'wrong-password',
    });
    await expect(client.connect()).rejects.toMatchObject({ code: '28P01' });
    expect(h.tunnels.length).toBe(tunnelsBefore);
  });

  it('carries raw bytes for non-PostgreSQL connections on the requested port', async () => {
    const free = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const proxy = await start([{ name: 'deploy-host', port: free }], { repository: 'acme/ops' });
    const [listener] = proxy.ready.connections;
    expect(listener).toMatchObject({
      name: 'deploy-host',
      type: 'ssh',
      host: '127.0.0.1',
      port: free,
      user: 'deploy-host',
      known_hosts: [`deploy-host ${HOST_KEY}`],
    });
    const echoed = await new Promise<string>((resolve) => {
      const socket = net.connect(free, '127.0.0.1', () => socket.write('SSH-2.0-test\r\n'));
      socket.once('data', (data) => {
        resolve(data.toString());
        socket.destroy();
      });
    });
    expect(echoed).toBe('SSH-2.0-test\r\n');
  });

  it('registers an ephemeral SSH key that OpenSSH can use and removes it on close', async () => {
    const proxy = await start([{ name: 'deploy-host' }], { repository: 'acme/ops' });
    const [listener] = proxy.ready.connections;
    const registered = registeredKeys.find((k) => k.sessionId === proxy.ready.session_id);
    expect(registered?.bearer).toMatch(/^Bearer gwh_/);
    expect(statSync(listener!.identity_file!).mode & 0o777).toBe(0o600);
    const derived = execFileSync('ssh-keygen', ['-y', '-f', listener!.identity_file!], { encoding: 'utf8' })
      .trim()
      .split(' ')
      .slice(0, 2)
      .join(' ');
    expect(registered?.publicKey.split(' ').slice(0, 2).join(' ')).toBe(derived);
    expect(readFileSync(listener!.identity_file!, 'utf8')).toContain('PRIVATE KEY');
    await proxy.close();
    expect(existsSync(listener!.identity_file!)).toBe(false);
  });

  it('refuses to start for a connection the session does not grant, and ends that session', async () => {
    await expect(start([{ name: 'other-db' }])).rejects.toMatchObject({ code: 'connection.not-granted' });
  });

  it('ends the session at the gateway when closed with endSession', async () => {
    const proxy = await start([{ name: 'app-db' }]);
    await proxy.close({ endSession: true });
    expect(await proxy.done).toBe('closed');
    expect((await h.sessions.get(proxy.ready.session_id))?.endReason).toBe('disconnect');
  });

  it('adopts a session opened elsewhere by id and token', async () => {
    const session = await h.grant();
    const proxy = await startLocalProxy({
      gateway: h.url,
      credential: { sessionId: session.id, sessionToken: session.token },
      connections: [],
    });
    proxies.push(proxy);
    expect(proxy.ready).toMatchObject({ session_id: session.id, connections: [{ name: 'app-db' }] });
  });
});

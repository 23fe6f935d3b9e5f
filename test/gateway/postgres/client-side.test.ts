import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/pg-target.ts';
import { startAdapter } from '../../support/postgres-gateway.ts';

const run = promisify(execFile);
let db: TestDatabase;
let gateway: Awaited<ReturnType<typeof startAdapter>>;

beforeAll(async () => {
  db = await createTestDatabase();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  gateway = await startAdapter(db, {}, `tls:\n  cert: \${file:${dir}/cert.pem}\n  key: \${file:${dir}/key.pem}\n`);
});
afterAll(async () => {
  await gateway?.close();
  await db?.drop();
});

function rawStartup(version: number, params: Record<string, string>): Buffer {
  const body = Buffer.concat([
    ...Object.entries(params).flatMap(([k, v]) => [Buffer.from(`${k}\0${v}\0`)]),
    Buffer.from([0]),
  ]);
  const header = Buffer.alloc(8);
  header.writeInt32BE(body.length + 8, 0);
  header.writeInt32BE(version, 4);
  return Buffer.concat([header, body]);
}

function exchange(bytes: Buffer, waitMs = 300): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host: '127.0.0.1', port: gateway.port }, () => socket.write(bytes));
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', () => undefined);
    const done = () => resolve(Buffer.concat(chunks));
    socket.on('close', done);
    setTimeout(() => {
      socket.destroy();
      done();
    }, waitMs);
  });
}

describe('the client side of the PostgreSQL listener', () => {
  it('speaks TLS when the client asks for it', async () => {
    const { stdout } = await run('psql', [
      `${gateway.url}?sslmode=require`,
      '-tA',
      '-c',
      'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
    ]);
    // The gateway's own leg is TLS; the target leg on loopback is not, which the target reports.
    expect(stdout.trim()).toBe('f');
    const client = new pg.Client({ connectionString: gateway.url, ssl: { rejectUnauthorized: false } });
    await client.connect();
    expect(((client as any).connection.stream as { encrypted?: boolean }).encrypted).toBe(true);
    await client.end();
  });

  it('passes startup parameters and the settings in options on to the target', async () => {
    const { stdout } = await run(
      'psql',
      [gateway.url, '-tA', '-c', 'SHOW application_name', '-c', 'SHOW statement_timeout'],
      {
        env: { ...process.env, PGAPPNAME: 'migrations', PGOPTIONS: '-c statement_timeout=4321' },
      },
    );
    expect(stdout.trim().split('\n')).toEqual(['migrations', '4321ms']);
  });

  it('refuses a client encoding in which a multi-byte character could hide a quote', async () => {
    const answer = await exchange(rawStartup(196608, { user: 'ci', database: 'app-db', client_encoding: 'SJIS' }));
    expect(answer.toString()).toContain('use client_encoding=UTF8');
    const { stdout } = await run('psql', [gateway.url, '-tA', '-c', 'SHOW client_encoding'], {
      env: { ...process.env, PGCLIENTENCODING: 'UTF8' },
    });
    expect(stdout.trim()).toBe('UTF8');
  });

  it('refuses replication connections with a clear reason', async () => {
    const answer = await exchange(rawStartup(196608, { user: 'ci', database: 'app-db', replication: 'database' }));
    expect(answer.toString()).toContain('replication connections are not allowed');
  });

  it('answers a protocol 3.2 startup with NegotiateProtocolVersion for 3.0', async () => {
    const answer = await exchange(rawStartup(196610, { user: 'ci', database: 'app-db', '_pq_.x': '1' }));
    expect(answer[0]).toBe(0x76);
    expect(answer.readInt32BE(5)).toBe(0);
    expect(answer.includes(Buffer.from('_pq_.x'))).toBe(true);
  });

  it('survives garbage thrown at the listener while a healthy session keeps answering', async () => {
    const healthy = new pg.Client({ connectionString: gateway.url });
    await healthy.connect();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.boolean(), async (garbage, afterStartup) => {
        const prefix = afterStartup ? rawStartup(196608, { user: 'ci', database: 'app-db' }) : Buffer.alloc(0);
        const answer = await exchange(Buffer.concat([prefix, Buffer.from(garbage)]), 50);
        // Whatever came back is a well-formed stream of protocol messages or a one-byte TLS/GSS answer.
        expect(answer.includes(Buffer.from('at Object.'))).toBe(false);
        const { rows } = await healthy.query('SELECT count(*)::int AS n FROM customers');
        expect(rows[0].n).toBe(3);
      }),
      { numRuns: 60 },
    );
    await healthy.end();
    expect(gateway.logs.filter((l) => l.includes('unexpected error'))).toEqual([]);
  });

  it('closes a connection whose message length is out of bounds after authentication', async () => {
    const client = new pg.Client({ connectionString: gateway.url });
    await client.connect();
    const stream = (client as any).connection.stream as net.Socket;
    const closed = new Promise((resolve) => stream.once('close', resolve));
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    stream.write(Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xff]));
    await closed;
    expect(errors.map((e) => e.message).join(' ')).toMatch(/outside 4\.\.\d+ bytes/);
    const again = new pg.Client({ connectionString: gateway.url });
    await again.connect();
    expect((await again.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    await again.end();
  });
});

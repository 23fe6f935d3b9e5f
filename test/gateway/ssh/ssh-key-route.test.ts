import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionContext } from '../../../gateway/identity/session-context.ts';
import { sshHostKeyFromPrivate } from '../../../gateway/ssh/host-key.ts';
import { createSshKeyRoute, SSH_KEY_LIMITS } from '../../../gateway/ssh/ssh-key-route.ts';
import { generateEd25519KeyPair, parsePublicKeyLine, sshFingerprint } from '../../../gateway/ssh/ssh-key-text.ts';
import type { SessionRecord } from '../../../gateway/store/store.ts';

const hostKey = sshHostKeyFromPrivate(generateEd25519KeyPair().private);
const sessions: Record<string, SessionContext> = {};
const records: Record<string, Pick<SessionRecord, 'sshKeys'>> = {};
let server: http.Server;
let base: string;

function addSession(id: string, token: string): void {
  sessions[token] = {
    sessionId: id,
    identity: { sessionId: id, claims: {} },
    connections: ['deploy-host'],
    expiresAt: new Date(Date.now() + 60_000),
  };
  records[id] = { sshKeys: [] };
}

beforeAll(async () => {
  addSession('s1', 'gwh_one');
  addSession('s2', 'gwh_two');
  const route = createSshKeyRoute({
    sessions: { authenticate: async (token) => sessions[token] ?? null },
    store: {
      getSession: async (id) => (records[id] ? (records[id] as SessionRecord) : null),
      addSessionSshKey: async (id, key) => void records[id]!.sshKeys.push(key),
    },
    hostKey,
  });
  server = http.createServer(async (req, res) => {
    if (!(await route(req, res))) res.writeHead(404).end('not mine');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function post(session: string, token: string | undefined, body: unknown) {
  return fetch(`${base}/v1/sessions/${session}/ssh-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

describe('POST /v1/sessions/:id/ssh-keys', () => {
  it('registers a key with the caller’s own session and answers the gateway host key to pin', async () => {
    const key = generateEd25519KeyPair().public;
    const response = await post('s1', 'gwh_one', { public_key: `${key} runner@ci` });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({
      fingerprint: sshFingerprint(parsePublicKeyLine(key)!.blob),
      host_key: hostKey.publicKey,
      host_key_fingerprint: hostKey.fingerprint,
    });
    expect(records.s1!.sshKeys).toEqual([key]);
    const again = await post('s1', 'gwh_one', { public_key: key });
    expect(again.status).toBe(200);
    expect(records.s1!.sshKeys).toHaveLength(1);
  });

  it('refuses to add a key to another session', async () => {
    const response = await post('s2', 'gwh_one', { public_key: generateEd25519KeyPair().public });
    expect(response.status).toBe(403);
    expect(records.s2!.sshKeys).toEqual([]);
  });

  it('needs a valid session token', async () => {
    expect((await post('s1', undefined, {})).status).toBe(401);
    expect((await post('s1', 'gwh_unknown', {})).status).toBe(401);
  });

  it('refuses a private key or text that is not a public key', async () => {
    const pair = generateEd25519KeyPair();
    for (const body of [{ public_key: pair.private }, { public_key: 'hello' }, { key: pair.public }]) {
      const response = await post('s2', 'gwh_two', body);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('ssh.key-invalid');
    }
  });

  it('limits how many keys a session may register', async () => {
    for (let i = records.s2!.sshKeys.length; i < SSH_KEY_LIMITS.perSession; i++) {
      expect((await post('s2', 'gwh_two', { public_key: generateEd25519KeyPair().public })).status).toBe(201);
    }
    expect((await post('s2', 'gwh_two', { public_key: generateEd25519KeyPair().public })).status).toBe(409);
  });

  it('leaves other paths to other routes', async () => {
    const response = await fetch(`${base}/v1/sessions/s1`);
    expect(await response.text()).toBe('not mine');
  });
});

import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../gateway/config/load-config.ts';
import { loadDevIssuerKey, mintDevToken } from '../../../gateway/identity/dev-issuer.ts';
import { systemClock } from '../../../gateway/identity/session-context.ts';
import { startGateway, type RunningGateway, type StartOptions } from '../../../gateway/server/gateway.ts';
import { createTestDatabase, type TestDatabase } from '../../support/pg-target.ts';

export const PUBLIC_URL = 'http://gatehouse.test';

/** A policy folder: the default rules, one identity rule for acme/app, and `extraYaml` (more rules). */
export function writePolicies(dir: string, extraYaml = ''): string {
  const policies = path.join(dir, 'policies');
  mkdirSync(policies, { recursive: true });
  copyFileSync(path.resolve('policies/default.yaml'), path.join(policies, 'default.yaml'));
  writeFileSync(
    path.join(policies, 'identities.yaml'),
    'identities:\n  - { name: ci, claims: { repository: acme/app }, connections: [app-db] }\n',
  );
  if (extraYaml) writeFileSync(path.join(policies, 'extra.yaml'), extraYaml);
  return policies;
}

/** Several in-process gateways on one PostgreSQL store, in front of one target database. */
export interface ReplicaBed {
  store: TestDatabase;
  target: TestDatabase;
  replicas: RunningGateway[];
  logs: string[][];
  /** Opens a session at one replica the way the Action does (a dev-issuer token for acme/app). */
  openSession(at: RunningGateway, ttl?: string): Promise<{ id: string; token: string; expires_at: string }>;
  /** psql-style URL of `app-db` through a replica's native listener. */
  pgUrl(at: RunningGateway, token: string): string;
  close(): Promise<void>;
}

export async function startReplicaBed(
  count: number,
  options: { policyYaml?: string; extraYaml?: string; start?: StartOptions } = {},
): Promise<ReplicaBed> {
  const target = await createTestDatabase();
  const store = await createTestDatabase('');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-replicas-'));
  const policies = writePolicies(dir, options.policyYaml);
  const replicas: RunningGateway[] = [];
  const logs: string[][] = [];
  for (let i = 0; i < count; i++) {
    const file = path.join(dir, `gatehouse-${i}.yaml`);
    writeFileSync(
      file,
      [
        'listen: { http: "127.0.0.1:0", postgres: "127.0.0.1:0" }',
        `public_url: ${PUBLIC_URL}`,
        `store: ${store.url}`,
        `policies: ${policies}`,
        'issuers: [{ issuer: dev }]',
        `audit: { journal: { dir: ${path.join(dir, `journal-${i}`)} } }`,
        'connections:',
        '  app-db:',
        '    type: postgres',
        `    url: ${target.url}`,
        options.extraYaml ?? '',
      ].join('\n'),
    );
    const log: string[] = [];
    logs.push(log);
    replicas.push(await startGateway(loadConfig(file), { log: (m) => log.push(m), ...options.start }));
  }
  return {
    store,
    target,
    replicas,
    logs,
    async openSession(at, ttl) {
      const jwt = await mintDevToken(
        await loadDevIssuerKey(at.store),
        PUBLIC_URL,
        { repository: 'acme/app' },
        systemClock,
      );
      const response = await fetch(`${at.httpUrl}/v1/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: jwt, connections: ['app-db'], ...(ttl ? { ttl } : {}) }),
      });
      if (response.status !== 201) throw new Error(`no session: ${response.status} ${await response.text()}`);
      return (await response.json()) as { id: string; token: string; expires_at: string };
    },
    pgUrl: (at, token) => `postgres://ci:${encodeURIComponent(token)}@127.0.0.1:${at.postgresPort}/app-db`,
    async close() {
      await Promise.allSettled(replicas.map((replica) => replica.close()));
      await target.drop();
      await store.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

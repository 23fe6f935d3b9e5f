import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../gateway/config/load-config.ts';
import { startGateway, type RunningGateway } from '../../../gateway/server/gateway.ts';
import { createTestDatabase, usingRealServer, type TestDatabase } from '../../support/pg-target.ts';
import type { SshTestTarget } from '../../support/sshd.ts';
import { startTestIssuer, type TestIssuer } from '../../support/test-issuer.ts';

/** A policy for the Action's end-to-end tests: main of acme/app may open app-db; drops are denied. */
export const ACTION_POLICY = `
identities:
  - name: main-deploys
    claims:
      repository: acme/app
      ref: refs/heads/main
    repository_id: "123456"
    connections: [app-db, deploy-host]
    max_ttl: 15m
rules:
  - name: deploy-commands
    connections: [deploy-host]
    when: { ssh: { type: [exec], program: [echo, printf] } }
    action: allow
    reason: Deploy jobs may run echo and printf
  - name: no-drop
    when: { command: ["DROP *"] }
    action: deny
    reason: Dropping objects is not allowed from CI
  - name: reads-and-writes
    when: { kind: [read, write, transaction, utility] }
    action: allow
    reason: CI may read and write
masking:
  - connections: ["*"]
    columns:
      - { column: "public.customers.email", keep_last: 0 }
    detectors: [email]
`;

/**
 * The real gateway in front of a real PostgreSQL test database, trusting a local test issuer. Its
 * store is a second database on the real server (seconds faster than embedded PGlite), else PGlite.
 */
export interface ActionTestbed {
  gateway: RunningGateway;
  issuer: TestIssuer;
  db: TestDatabase;
  audience: string;
  close(): Promise<void>;
}

/**
 * `ssh`: an SSH target to expose as the `deploy-host` connection; `http`: an HTTP target as
 * `billing-api` (bearer `apiToken`); `kube`: a Kubernetes API server as `prod-cluster`.
 */
export async function startActionTestbed(
  policy: string = ACTION_POLICY,
  options: {
    ssh?: SshTestTarget;
    http?: { url: string; apiToken: string };
    kube?: { url: string; ca: string; token: string };
  } = {},
): Promise<ActionTestbed> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-action-gw-'));
  const audience = 'https://gatehouse.test';
  const db = await createTestDatabase();
  const storeDb = usingRealServer() ? await createTestDatabase('select 1') : undefined;
  const issuer = await startTestIssuer(audience);
  const policies = join(dir, 'policies');
  mkdirSync(policies);
  writeFileSync(join(policies, 'policy.yaml'), policy);
  const yaml = [
    'listen: { http: "127.0.0.1:0", postgres: "127.0.0.1:0" }',
    `store: ${storeDb ? storeDb.url : join(dir, 'store')}`,
    'issuers:',
    `  - issuer: ${issuer.issuer}`,
    `    audience: ${audience}`,
    `    jwks_uri: ${issuer.jwksUri}`,
    'connections:',
    '  app-db:',
    '    type: postgres',
    `    url: ${db.url}`,
    ...(options.ssh
      ? [
          '  deploy-host:',
          '    type: ssh',
          `    host: ${options.ssh.host}`,
          `    port: ${options.ssh.port}`,
          `    user: ${options.ssh.user}`,
          '    private_key: ${file:ssh-key}',
          `    host_key: "${options.ssh.hostKey}"`,
        ]
      : []),
    ...(options.http
      ? [
          '  billing-api:',
          '    type: http',
          `    url: ${options.http.url}`,
          `    credential: { type: bearer, token: "${options.http.apiToken}" }`,
        ]
      : []),
    ...(options.kube
      ? [
          '  prod-cluster:',
          '    type: kubernetes',
          `    url: ${options.kube.url}`,
          '    ca: "${file:kube-ca.pem}"',
          `    token: "${options.kube.token}"`,
        ]
      : []),
    `policies: ${policies}`,
  ].join('\n');
  if (options.kube) writeFileSync(join(dir, 'kube-ca.pem'), options.kube.ca);
  if (options.ssh) writeFileSync(join(dir, 'ssh-key'), options.ssh.privateKey, { mode: 0o600 });
  const file = join(dir, 'gatehouse.yaml');
  writeFileSync(file, yaml);
  const gateway = await startGateway(parseConfig(yaml, file), { log: () => {} });
  return {
    gateway,
    issuer,
    db,
    audience,
    async close() {
      await gateway.close();
      await issuer.close();
      await db.drop();
      await storeDb?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

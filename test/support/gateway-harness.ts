import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../gateway/config/load-config.ts';
import { startGateway, type RunningGateway, type StartOptions } from '../../gateway/server/gateway.ts';
import { knownHostsLine, loadSshHostKey } from '../../gateway/ssh/host-key.ts';
import type { TestDatabase } from './pg-target.ts';
import type { SshTestTarget } from './sshd.ts';

export const STATIC_TOKEN = 'static-test-token-abcdefghijklmnop';
/** The connection name of the SSH target, when one is given. */
export const SSH_CONNECTION = 'deploy-host';

export interface GatewayUnderTest extends RunningGateway {
  /** psql/libpq URL of connection `app-db` through the native listener with the static token. */
  url: string;
  dir: string;
  logs: string[];
  /** known_hosts line of the gateway's SSH listener (when started with `ssh`). */
  sshKnownHosts?: string;
}

export interface TestGatewayOptions {
  policies?: string;
  /** Appended to gatehouse.yaml. */
  extraYaml?: string;
  store?: string;
  /** Also serve this SSH target as connection `deploy-host`, on a native SSH listener. */
  ssh?: SshTestTarget;
  /** Seams of `startGateway` (a failing engine, a clock, ...). */
  start?: StartOptions;
}

function sshYaml(target: SshTestTarget): string[] {
  return [
    `  ${SSH_CONNECTION}:`,
    '    type: ssh',
    `    host: ${target.host}`,
    `    port: ${target.port}`,
    `    user: ${target.user}`,
    '    private_key: ${file:ssh-key}',
    `    host_key: "${target.hostKey}"`,
  ];
}

/**
 * Starts the whole gateway (store in memory, the given policy folder, one static token) in front
 * of `db` as connection `app-db`, and of `options.ssh` as `deploy-host`. `extraYaml` is appended
 * to gatehouse.yaml.
 */
export async function startTestGateway(db: TestDatabase, options: TestGatewayOptions = {}): Promise<GatewayUnderTest> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-gw-'));
  const file = path.join(dir, 'gatehouse.yaml');
  if (options.ssh) writeFileSync(path.join(dir, 'ssh-key'), options.ssh.privateKey, { mode: 0o600 });
  const granted = options.ssh ? `[app-db, ${SSH_CONNECTION}]` : '[app-db]';
  writeFileSync(
    file,
    [
      `listen: { http: "127.0.0.1:0", postgres: "127.0.0.1:0"${options.ssh ? ', ssh: "127.0.0.1:0"' : ''} }`,
      `store: ${options.store ?? 'memory://'}`,
      `policies: ${options.policies ?? path.resolve('policies')}`,
      'issuers: [{ issuer: dev }]',
      'connections:',
      '  app-db:',
      '    type: postgres',
      `    url: ${db.url}`,
      ...(options.ssh ? sshYaml(options.ssh) : []),
      'static_tokens:',
      `  - { name: ci, token: ${STATIC_TOKEN}, connections: ${granted}, claims: { repository: acme/app, actor: ci-bot } }`,
      options.extraYaml ?? '',
    ].join('\n'),
  );
  const logs: string[] = [];
  const gateway = await startGateway(loadConfig(file), { log: (m) => logs.push(m), ...options.start });
  const sshKnownHosts =
    gateway.sshPort === undefined
      ? undefined
      : knownHostsLine(await loadSshHostKey(gateway.store), '127.0.0.1', gateway.sshPort);
  return {
    ...gateway,
    dir,
    logs,
    sshKnownHosts,
    url: `postgres://ci:${STATIC_TOKEN}@127.0.0.1:${gateway.postgresPort}/app-db`,
  };
}

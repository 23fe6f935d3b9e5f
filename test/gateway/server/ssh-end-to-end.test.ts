import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSessionLog } from '../../../gateway/audit/session-log.ts';
import { loadConfig } from '../../../gateway/config/load-config.ts';
import { loadDevIssuerKey, mintDevToken } from '../../../gateway/identity/dev-issuer.ts';
import { systemClock } from '../../../gateway/identity/session-context.ts';
import { startGateway, type RunningGateway } from '../../../gateway/server/gateway.ts';
import { knownHostsLine, loadSshHostKey } from '../../../gateway/ssh/host-key.ts';
import { startLocalProxy, type LocalProxy } from '../../../gateway/client/local-proxy.ts';
import { startSshTarget, type SshTestTarget } from '../../support/sshd.ts';
import { runSsh } from '../ssh/ssh-client.ts';

const STATIC_TOKEN = 'static-ssh-token-abcdefghijklmnop';
const GITHUB_TOKEN = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';
let target: SshTestTarget;
let gateway: RunningGateway;
let publicUrl: string;

beforeAll(async () => {
  target = await startSshTarget();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-ssh-e2e-'));
  const policies = path.join(dir, 'policies');
  writeFileSync(path.join(dir, 'key'), target.privateKey, { mode: 0o600 });
  mkdirSync(policies);
  copyFileSync('policies/default.yaml', path.join(policies, 'default.yaml'));
  writeFileSync(
    path.join(policies, 'deploy.yaml'),
    [
      'identities:',
      '  - { name: deploys, claims: { repository: acme/app }, connections: [deploy-host] }',
      'rules:',
      '  - { name: deploy-commands, action: allow, when: { ssh: { type: [exec], program: [echo, printf, cat] } }, reason: "deploy commands" }',
      'masking:',
      '  - { connections: ["*"], detectors: [github_token] }',
    ].join('\n'),
  );
  publicUrl = 'http://gatehouse.test';
  writeFileSync(
    path.join(dir, 'gatehouse.yaml'),
    [
      'listen: { http: "127.0.0.1:0", postgres: "127.0.0.1:0", ssh: "127.0.0.1:0" }',
      `public_url: ${publicUrl}`,
      'store: memory://',
      `policies: ${policies}`,
      'issuers: [{ issuer: dev }]',
      'connections:',
      '  deploy-host:',
      '    type: ssh',
      `    host: ${target.host}`,
      `    port: ${target.port}`,
      `    user: ${target.user}`,
      '    private_key: ${file:key}',
      `    host_key: "${target.hostKey}"`,
      'static_tokens:',
      `  - { name: ci, token: ${STATIC_TOKEN}, connections: [deploy-host], claims: { repository: acme/app } }`,
    ].join('\n'),
  );
  gateway = await startGateway(loadConfig(path.join(dir, 'gatehouse.yaml')), { log: () => undefined });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await target?.stop();
});

describe('SSH through the whole gateway', () => {
  it('runs an allowed command on the native listener with the session token as password, and masks secrets in its output', async () => {
    const hostKey = await loadSshHostKey(gateway.store);
    const result = await runSsh({
      port: gateway.sshPort!,
      user: 'deploy-host',
      knownHosts: knownHostsLine(hostKey, '127.0.0.1', gateway.sshPort!),
      password: STATIC_TOKEN,
      command: `echo deployed ${GITHUB_TOKEN}`,
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('deployed');
    expect(result.stdout).not.toContain(GITHUB_TOKEN);
  });

  it('refuses a command no rule allows, with the rule on stderr', async () => {
    const hostKey = await loadSshHostKey(gateway.store);
    const result = await runSsh({
      port: gateway.sshPort!,
      user: 'deploy-host',
      knownHosts: knownHostsLine(hostKey, '127.0.0.1', gateway.sshPort!),
      password: STATIC_TOKEN,
      command: 'rm -rf /tmp/nothing-here',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('gatehouse: denied');
  });

  it('carries ssh through `gatehouse connect` with the ephemeral key it registered, and records the session', async () => {
    const key = await loadDevIssuerKey(gateway.store);
    const token = await mintDevToken(key, publicUrl, { repository: 'acme/app' }, systemClock);
    const proxy: LocalProxy = await startLocalProxy({
      gateway: gateway.httpUrl,
      credential: { oidcToken: token },
      connections: [{ name: 'deploy-host' }],
    });
    try {
      const local = proxy.ready.connections.find((c) => c.name === 'deploy-host')!;
      expect(local.identity_file).toBeTruthy();
      const knownHosts = local.known_hosts!.map((line) => line.replace(/^\S+/, `[127.0.0.1]:${local.port}`)).join('\n');
      const result = await runSsh({
        port: local.port,
        user: 'deploy-host',
        knownHosts,
        identityFile: local.identity_file,
        command: 'printf tunnel-ok',
      });
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('tunnel-ok');
    } finally {
      await proxy.close({ endSession: true });
    }
    await gateway.recorder.flush();
    const log = await getSessionLog(gateway.store, proxy.ready.session_id);
    const types = log!.events.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['session.start', 'ssh.exec', 'ssh.exit', 'session.end']));
    expect(log!.events.find((e) => e.type === 'ssh.exec')!.data).toMatchObject({
      command: 'printf tunnel-ok',
      decision: 'allow',
      rule: 'deploy-commands',
    });
  });
});

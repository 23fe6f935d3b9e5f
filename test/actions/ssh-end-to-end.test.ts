import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshTarget, type SshTestTarget } from '../support/sshd.ts';
import { startFakeOidcEndpoint, type FakeOidcEndpoint } from './support/fake-github.ts';
import { startActionTestbed, ACTION_POLICY, type ActionTestbed } from './support/real-gateway.ts';
import { createRunnerFiles } from './support/runner-files.ts';
import { runStep } from './support/run-step.ts';

describe('the Action with an SSH connection, against the real gateway and sshd', { timeout: 60_000 }, () => {
  let target: SshTestTarget;
  let bed: ActionTestbed;
  let oidc: FakeOidcEndpoint;

  beforeAll(async () => {
    target = await startSshTarget();
    bed = await startActionTestbed(ACTION_POLICY, { ssh: target });
    oidc = await startFakeOidcEndpoint((audience) => bed.issuer.mint({}, { aud: audience }));
  }, 90_000);
  afterAll(async () => {
    await oidc?.close();
    await bed?.close();
    await target?.stop();
  });

  it('runs `ssh deploy-host` through the written Host entry with strict host key checking, and summarises it', async () => {
    const runner = createRunnerFiles();
    try {
      const connect = await runStep('connect.mjs', {
        ...runner.env,
        ...oidc.env,
        INPUT_GATEWAY: bed.gateway.httpUrl,
        INPUT_AUDIENCE: bed.audience,
        INPUT_CONNECTIONS: 'deploy-host',
      });
      expect(connect.stdout).not.toContain('::error::');
      expect(connect.code).toBe(0);
      const config = runner.exported().GATEHOUSE_SSH_CONFIG!;

      const allowed = await ssh(['-F', config, '-o', 'BatchMode=yes', 'deploy-host', 'printf deployed']);
      expect(allowed.stderr).toBe('');
      expect(allowed.stdout).toBe('deployed');
      const denied = await ssh(['-F', config, '-o', 'BatchMode=yes', 'deploy-host', 'rm -rf /tmp/nothing-here']);
      expect(denied.status).not.toBe(0);
      expect(denied.stderr).toContain('gatehouse: denied');

      const disconnect = await runStep('disconnect.mjs', runner.env);
      expect(disconnect.code).toBe(0);
      const summary = runner.summary();
      expect(summary).toMatch(/\| deploy-host \| `printf deployed` \| allow \| deploy-commands \|/);
      expect(summary).toMatch(/\| deploy-host \| `rm -rf \/tmp\/nothing-here` \| deny \|/);
    } finally {
      runner.cleanup();
    }
  }, 90_000);
});

/** Runs ssh without blocking this process, which also hosts the gateway under test. */
function ssh(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { playAsciicast, shellRecordings } from '../../../gateway/audit/replay.ts';
import { generateEd25519KeyPair, sshFingerprint } from '../../../gateway/ssh/ssh-key-text.ts';
import type { AuditEventRecord } from '../../../gateway/store/store.ts';
import { freePort, startSshTarget, type SshTestTarget } from '../../support/sshd.ts';
import { CONNECTION, MASKED, SECRET, sshConnection, startGateway, TOKEN, type Harness } from './gateway-harness.ts';
import { runSsh, type SshRun } from './ssh-client.ts';

let target: SshTestTarget;
let gw: Harness;
let dir: string;

beforeAll(async () => {
  target = await startSshTarget();
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-ssh-test-'));
  const wrongKey = generateEd25519KeyPair().public;
  gw = await startGateway([
    sshConnection(target),
    sshConnection(target, { name: 'rekeyed-host', hostKey: wrongKey }),
    sshConnection(target, { name: 'down-host', port: await freePort() }),
  ]);
});

afterAll(async () => {
  await gw?.close();
  await target?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function ssh(run: Partial<SshRun> & { command?: string }) {
  return runSsh({ port: gw.port, user: CONNECTION, knownHosts: gw.knownHosts, password: TOKEN, ...run });
}

function eventsOf(type: string) {
  return gw.events.filter((event) => event.type === type);
}

describe('exec through the gateway', () => {
  it('runs an allowed command on the target and passes stdout, stderr and the exit status back', async () => {
    const result = await ssh({ command: "sh -c 'echo out; echo err >&2; exit 3'" });
    expect(result).toMatchObject({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    const exec = eventsOf('ssh.exec').find((event) => event.data.command === "sh -c 'echo out; echo err >&2; exit 3'");
    expect(exec?.data).toMatchObject({ decision: 'allow', argv: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
    const channel = exec?.data.channel;
    expect(
      gw.events
        .filter((event) => event.data.channel === channel)
        .map((event) => [event.type, event.data.stream ?? event.data.code]),
    ).toEqual([
      ['ssh.exec', undefined],
      ['ssh.output', 'stdout'],
      ['ssh.output', 'stderr'],
      ['ssh.exit', 3],
    ]);
  });

  it('refuses a denied command with the rule on stderr and exit status 1, without running it', async () => {
    const victim = join(dir, 'keep-me');
    writeFileSync(victim, 'x');
    const result = await ssh({ command: `rm -f ${victim}` });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('gatehouse: denied by policy rule "no-rm": deleting files is not allowed from CI');
    expect(existsSync(victim)).toBe(true);
    expect(eventsOf('ssh.exec').at(-1)?.data).toMatchObject({
      command: `rm -f ${victim}`,
      decision: 'deny',
      rule: 'no-rm',
    });
  });

  it('gives policy no words for a command with substitutions, so the test policy denies it', async () => {
    const result = await ssh({ command: 'echo $(id -u)' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('"unparsed"');
    expect(eventsOf('ssh.exec').at(-1)?.data).toMatchObject({ argv: null, decision: 'deny' });
  });

  it('holds a command under review and runs it once approved', async () => {
    const file = join(dir, 'approved');
    let existedWhileHeld: boolean | undefined;
    gw.hold = async (_request, options) => {
      existedWhileHeld = existsSync(file);
      options?.onPending?.({
        id: 'apr-1',
        approveUrl: 'https://github.example/acme/app/pull/1',
        approveCommand: '/gatehouse approve apr-1',
        howToApprove: 'approve on the pull request https://github.example/acme/app/pull/1',
        expiresAt: new Date(Date.now() + 60_000),
      });
      return { outcome: 'approved', approvalId: 'apr-1', decidedBy: ['@reviewer'], reason: null };
    };
    const result = await ssh({ command: `touch ${file}` });
    expect(existedWhileHeld).toBe(false);
    expect(result.code).toBe(0);
    expect(existsSync(file)).toBe(true);
    expect(result.stderr).toContain('held for approval by policy rule "touch-needs-review"');
    expect(result.stderr).toContain(
      'approval apr-1: approve on the pull request https://github.example/acme/app/pull/1',
    );
    expect(eventsOf('ssh.exec').at(-1)?.data).toMatchObject({ decision: 'allow', approval_id: 'apr-1' });
  });

  it('refuses a held command that a reviewer denied', async () => {
    const file = join(dir, 'denied');
    gw.hold = async () => ({ outcome: 'denied', approvalId: 'apr-2', decidedBy: ['@reviewer'], reason: null });
    const result = await ssh({ command: `touch ${file}` });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('denied by @reviewer');
    expect(existsSync(file)).toBe(false);
  });

  it('passes only the environment variables policy allows', async () => {
    const result = await ssh({
      command: "sh -c 'echo [$GATEHOUSE_STAGE][$OTHER]'",
      options: ['-o', 'SetEnv=GATEHOUSE_STAGE=prod OTHER=x'],
    });
    expect(result.stdout).toBe('[prod][]\n');
    expect(eventsOf('ssh.exec').at(-1)?.data).toMatchObject({
      env: { GATEHOUSE_STAGE: 'prod' },
      env_denied: ['OTHER'],
    });
  });
});

describe('masking', () => {
  it('masks a secret the target prints, in what the client sees and in the recording', async () => {
    const file = join(dir, 'secret.txt');
    writeFileSync(file, `token=${SECRET}\n`);
    const result = await ssh({ command: `cat ${file}` });
    expect(result.stdout).toBe(`token=${MASKED}\n`);
    const output = eventsOf('ssh.output').at(-1)?.data;
    expect(output?.data).toBe(`token=${MASKED}\n`);
    expect(JSON.stringify(gw.events)).not.toContain(SECRET);
  });

  it('masks secrets wherever the output is cut into network chunks', async () => {
    const file = join(dir, 'many-secrets.txt');
    const lines = Array.from({ length: 3000 }, (_, i) => `${'x'.repeat(i % 97)} ${SECRET}`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    const result = await ssh({ command: `cat ${file}` });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('ghp_');
    expect(result.stdout.split(MASKED).length - 1).toBe(3000);
    expect(eventsOf('ssh.exit').at(-1)?.data.masked_values).toBe(3000);
  });
});

describe('shell sessions', () => {
  it('records a shell as asciicast that replays the masked output', async () => {
    const file = join(dir, 'shell-secret.txt');
    writeFileSync(file, `${SECRET}\n`);
    const script = `echo shell-$((40+2))\ncat ${file}\nexit 0\n`;
    const result = await ssh({ options: ['-tt'], stdin: script });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('shell-42');
    expect(result.stdout).not.toContain(SECRET);
    const records: AuditEventRecord[] = gw.events.map((event, seq) => ({
      ...event,
      seq,
      at: new Date(),
      prevHash: '',
      hash: '',
    }));
    const recording = shellRecordings(records).at(-1);
    expect(recording?.header).toMatchObject({ version: 2, width: expect.any(Number) });
    let played = '';
    const sleeps: number[] = [];
    await playAsciicast(recording!, {
      speed: 4,
      write: (data) => (played += data),
      sleep: async (ms) => void sleeps.push(ms),
    });
    expect(played).toContain('shell-42');
    expect(played).toContain(MASKED);
    expect(played).not.toContain(SECRET);
    expect(sleeps.every((ms) => ms <= 500)).toBe(true);
  });
});

describe('forwarding and target trust', () => {
  it('refuses port forwarding by default', async () => {
    const result = await ssh({ options: ['-W', `127.0.0.1:${target.port}`] });
    expect(result.code).toBe(255);
    expect(result.stderr).toContain('stdio forwarding failed');
    expect(eventsOf('ssh.forward').at(-1)?.data).toMatchObject({
      kind: 'local',
      host: '127.0.0.1',
      port: target.port,
      decision: 'deny',
    });
  });

  it('refuses a target whose host key does not match the pinned one', async () => {
    const result = await ssh({ user: 'rekeyed-host', command: 'echo never' });
    expect(result.code).toBe(255);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('does not match connections.rekeyed-host.host_key');
  });

  it('tells the client when the target is down', async () => {
    const result = await ssh({ user: 'down-host', command: 'echo never' });
    expect(result.code).toBe(255);
    expect(result.stderr).toContain('down-host: cannot reach the target');
  });
});

describe('other requests', () => {
  it('refuses the sftp subsystem when policy does not allow it, with the rule on stderr', async () => {
    const result = await ssh({ options: ['-s'], command: 'sftp' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('gatehouse: denied by policy rule "default-deny": ssh.subsystem is not allowed');
    expect(eventsOf('ssh.subsystem').at(-1)?.data).toMatchObject({ name: 'sftp', decision: 'deny' });
  });

  it('refuses remote port forwarding', async () => {
    const result = await ssh({
      options: ['-o', 'ExitOnForwardFailure=yes', '-R', '0:127.0.0.1:9'],
      command: 'echo never',
    });
    expect(result.code).toBe(255);
    expect(result.stdout).toBe('');
    expect(eventsOf('ssh.forward').at(-1)?.data).toMatchObject({ kind: 'remote', decision: 'deny' });
  });

  it('disconnects the clients of a session that ended', async () => {
    const running = ssh({ command: 'sleep 20' });
    for (let i = 0; i < 200 && !eventsOf('ssh.exec').some((event) => event.data.command === 'sleep 20'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const started = Date.now();
    gw.gateway.endSession(gw.session.sessionId, 'revoked');
    const result = await running;
    expect(result.code).toBe(255);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('audit required', () => {
  it('refuses commands when the audit log cannot be written', async () => {
    const broken = await startGateway([sshConnection(target)], {
      record: async () => {
        throw new Error('store down');
      },
    });
    try {
      const result = await runSsh({
        port: broken.port,
        user: CONNECTION,
        knownHosts: broken.knownHosts,
        password: TOKEN,
        command: 'echo never',
      });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('the audit log is unavailable');
    } finally {
      await broken.close();
    }
  });
});

describe('forwarding a rule allows', () => {
  it('relays a local forward through the target', async () => {
    const open = await startGateway([sshConnection(target)], {
      decide: (action) =>
        action.type === 'ssh.forward' && action.kind === 'local' && action.port === target.port
          ? { action: 'allow', rule: 'forward-to-ssh', reason: 'allowed' }
          : { action: 'deny', rule: 'default-deny', reason: 'no' },
    });
    try {
      const result = await runSsh({
        port: open.port,
        user: CONNECTION,
        knownHosts: open.knownHosts,
        password: TOKEN,
        options: ['-W', `127.0.0.1:${target.port}`],
        onStart: (stdin, stdout) => stdout.once('data', () => stdin.end()),
      });
      expect(result.stdout).toMatch(/^SSH-2\.0-/);
      expect(open.events.find((event) => event.type === 'ssh.forward')?.data).toMatchObject({
        kind: 'local',
        decision: 'allow',
      });
    } finally {
      await open.close();
    }
  });
});

describe('subsystems a rule allows', () => {
  it('relays sftp unchanged and records its byte counts', async () => {
    const open = await startGateway([sshConnection(target)], {
      decide: (action) =>
        action.type === 'ssh.subsystem' && action.name === 'sftp'
          ? { action: 'allow', rule: 'sftp', reason: 'allowed' }
          : { action: 'deny', rule: 'default-deny', reason: 'no' },
    });
    const file = join(dir, 'via-sftp.txt');
    writeFileSync(file, 'sftp-content');
    const client = new ssh2.Client();
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('ready', () => resolve()).once('error', reject);
        client.connect({
          host: '127.0.0.1',
          port: open.port,
          username: CONNECTION,
          password: TOKEN,
          hostVerifier: (key: Buffer) => sshFingerprint(key) === open.gateway.hostKey.fingerprint,
        });
      });
      const content = await new Promise<string>((resolve, reject) => {
        client.sftp((error, sftp) => {
          if (error) return reject(error);
          sftp.readFile(file, (readError, data) => (readError ? reject(readError) : resolve(data.toString())));
        });
      });
      expect(content).toBe('sftp-content');
      client.end();
      for (let i = 0; i < 100 && !open.events.some((event) => event.type === 'ssh.exit'); i++)
        await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      client.end();
      await open.close();
    }
    expect(open.events.find((event) => event.type === 'ssh.subsystem')?.data).toMatchObject({
      name: 'sftp',
      decision: 'allow',
    });
    expect(open.events.find((event) => event.type === 'ssh.exit')?.data.bytes_from_target).toBeGreaterThan(12);
  });
});

describe('agent and X11 forwarding', () => {
  async function execWith(
    options: Record<string, unknown>,
    connect: Record<string, unknown> = {},
  ): Promise<Error | undefined> {
    const client = new ssh2.Client();
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('ready', () => resolve()).once('error', reject);
        client.connect({
          host: '127.0.0.1',
          port: gw.port,
          username: CONNECTION,
          password: TOKEN,
          hostVerifier: (key: Buffer) => sshFingerprint(key) === gw.gateway.hostKey.fingerprint,
          ...connect,
        });
      });
      return await new Promise<Error | undefined>((resolve) =>
        client.exec('echo never', options, (error) => resolve(error)),
      );
    } finally {
      client.end();
    }
  }

  it('refuses agent forwarding and records the refusal', async () => {
    const error = await execWith({ agentForward: true }, { agent: join(dir, 'no-agent.sock'), agentForward: true });
    expect(error?.message).toMatch(/agent/i);
    expect(eventsOf('ssh.forward').at(-1)?.data).toMatchObject({ kind: 'agent', decision: 'deny' });
  });

  it('refuses X11 forwarding and records the refusal', async () => {
    const error = await execWith({ x11: true });
    expect(error?.message).toMatch(/X11/i);
    expect(eventsOf('ssh.forward').at(-1)?.data).toMatchObject({ kind: 'x11', decision: 'deny' });
  });
});

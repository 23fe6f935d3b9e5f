// Throughput of `ssh host 'head -c 100M /dev/zero'` with the real OpenSSH client, straight to a
// real sshd vs through the SSH gateway (policy decision, every content detector on the output,
// audit events to memory). A benchmark, not a test: nothing here fails on speed.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { createEnforcer } from '../gateway/enforcement/enforcer.ts';
import { createLiveSessions } from '../gateway/enforcement/live-sessions.ts';
import { systemClock, type SessionContext } from '../gateway/identity/session-context.ts';
import { createContentMasker } from '../gateway/content/detectors.ts';
import { DETECTOR_NAMES } from '../gateway/content/detector-config.ts';
import { knownHostsLine, sshHostKeyFromPrivate } from '../gateway/ssh/host-key.ts';
import { createSshAdapter } from '../gateway/ssh/ssh-adapter.ts';
import { startSshTarget } from '../test/support/sshd.ts';
import type { BenchRow } from './bench-table.ts';
import { generateEd25519KeyPair } from '../gateway/ssh/ssh-key-text.ts';

const TOKEN = 'gwh_bench-ssh-token-0123456789abcdef';
const CONNECTION = 'bench-host';

/**
 * Runs the benchmark (`megabytes` of zeros) and returns its lines for the bench table: with every
 * content detector on the output, and with detectors off (the relay alone).
 */
export async function benchSshThroughput(megabytes = Number(process.env.BENCH_SSH_MB ?? 100)): Promise<BenchRow[]> {
  const target = await startSshTarget();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-ssh-'));
  const session: SessionContext = {
    sessionId: 'bench-ssh',
    identity: { sessionId: 'bench-ssh', claims: {} },
    connections: [CONNECTION],
    expiresAt: new Date(Date.now() + 3600_000),
  };
  const masker = createContentMasker({ detectors: DETECTOR_NAMES });
  let detectors = true;
  const hostKey = sshHostKeyFromPrivate(generateEd25519KeyPair().private);
  const gateway = createSshAdapter({
    hostKey,
    connections: [
      {
        type: 'ssh',
        name: CONNECTION,
        host: target.host,
        port: target.port,
        user: target.user,
        privateKey: target.privateKey,
        hostKey: target.hostKey,
        audit: 'best-effort',
      },
    ],
    deps: {
      enforcer: createEnforcer({
        engine: { decide: () => ({ action: 'allow', rule: 'bench', reason: 'benchmark' }) },
        recorder: { record: async () => undefined },
        log: () => undefined,
      }),
      authenticate: (token) => (token === TOKEN ? session : null),
      maskText: (text) => (detectors ? masker.maskText(text) : { text, count: 0 }),
      live: createLiveSessions(systemClock),
      clock: systemClock,
      log: () => undefined,
    },
  });
  const server = net.createServer((socket) => gateway.accept(socket, { loopback: true }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const gatewayPort = (server.address() as AddressInfo).port;
  writeFileSync(path.join(dir, 'target_key'), target.privateKey, { mode: 0o600 });
  writeFileSync(
    path.join(dir, 'known_hosts'),
    `${knownHostsLine({ publicKey: target.hostKey, privateKey: '', fingerprint: '' }, '127.0.0.1', target.port)}\n${knownHostsLine(hostKey, '127.0.0.1', gatewayPort)}\n`,
  );
  writeFileSync(path.join(dir, 'askpass'), `#!/bin/sh\necho '${TOKEN}'\n`, { mode: 0o700 });
  const command = `head -c ${megabytes}M /dev/zero`;
  try {
    const expected = megabytes * 1024 * 1024;
    const rate = (run: { ms: number; bytes: number }) => {
      if (run.bytes !== expected) throw new Error(`expected ${expected} bytes, got ${run.bytes}`);
      return expected / 1024 / 1024 / (run.ms / 1000);
    };
    const direct = rate(
      await timeSsh(
        dir,
        [
          '-p',
          String(target.port),
          '-l',
          target.user,
          '-i',
          path.join(dir, 'target_key'),
          '-o',
          'PreferredAuthentications=publickey',
        ],
        command,
      ),
    );
    const rows: BenchRow[] = [];
    for (const on of [true, false]) {
      detectors = on;
      const through = rate(
        await timeSsh(
          dir,
          ['-p', String(gatewayPort), '-l', CONNECTION, '-o', 'PreferredAuthentications=password'],
          command,
        ),
      );
      rows.push({
        benchmark: `ssh 'head -c ${megabytes}M /dev/zero' (OpenSSH client, detectors ${on ? 'on' : 'off'})`,
        direct: `${direct.toFixed(0)} MB/s`,
        gateway: `${through.toFixed(0)} MB/s`,
        ratio: `${(through / direct).toFixed(2)}× throughput`,
        goal: on ? '≥ 0.5×' : '',
      });
    }
    return rows;
  } finally {
    await gateway.close();
    server.close();
    await target.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function timeSsh(dir: string, options: string[], command: string): Promise<{ ms: number; bytes: number }> {
  const args = [
    '-F',
    '/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${path.join(dir, 'known_hosts')}`,
    '-o',
    'LogLevel=ERROR',
    '-o',
    'IdentitiesOnly=yes',
    ...options,
    '127.0.0.1',
    command,
  ];
  const env = {
    PATH: process.env.PATH,
    HOME: dir,
    SSH_ASKPASS: path.join(dir, 'askpass'),
    SSH_ASKPASS_REQUIRE: 'force',
    DISPLAY: ':0',
  };
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('ssh', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (bytes += chunk.length));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0
        ? resolve({ ms: performance.now() - started, bytes })
        : reject(new Error(`ssh exited ${code}: ${stderr.trim()}`)),
    );
  });
}

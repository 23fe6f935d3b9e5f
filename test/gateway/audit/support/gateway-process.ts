import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadDevIssuerKey, mintDevToken } from '../../../../gateway/identity/dev-issuer.ts';
import { systemClock } from '../../../../gateway/identity/session-context.ts';
import { createStore } from '../../../../gateway/store/create-store.ts';
import { freePort } from '../../../support/sshd.ts';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CLI = path.join(ROOT, 'bin', 'gatehouse.js');
export const PUBLIC_URL = 'http://gatehouse.test';

/** A `gatehouse serve` process on fixed ports, so a restart is the same gateway to its clients. */
export interface GatewayProcess {
  dir: string;
  config: string;
  httpUrl: string;
  pgPort: number;
  start(): Promise<void>;
  kill(): Promise<void>;
  stop(): Promise<void>;
  /** Output of the current (or last) process. */
  output(): string;
  cleanup(): void;
}

/** Writes gatehouse.yaml (store, target, a policy that lets acme/app in, `auditYaml` under `audit:`) and returns the process handle. */
export async function gatewayProcess(options: {
  store: string;
  target: string;
  auditYaml: string[];
}): Promise<GatewayProcess> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-crash-gw-'));
  const policies = path.join(dir, 'policies');
  mkdirSync(policies);
  copyFileSync(path.join(ROOT, 'policies/default.yaml'), path.join(policies, 'default.yaml'));
  writeFileSync(
    path.join(policies, 'identities.yaml'),
    'identities:\n  - { name: ci, claims: { repository: acme/app }, connections: [app-db] }\n',
  );
  const [httpPort, pgPort] = [await freePort(), await freePort()];
  const config = path.join(dir, 'gatehouse.yaml');
  writeFileSync(
    config,
    [
      `listen: { http: "127.0.0.1:${httpPort}", postgres: "127.0.0.1:${pgPort}" }`,
      `public_url: ${PUBLIC_URL}`,
      `store: ${options.store}`,
      `policies: ${policies}`,
      'issuers: [{ issuer: dev }]',
      'audit:',
      ...options.auditYaml.map((line) => `  ${line}`),
      'connections:',
      '  app-db:',
      '    type: postgres',
      `    url: ${options.target}`,
    ].join('\n'),
  );
  let child: ChildProcess | null = null;
  let out = '';
  const exited = () =>
    new Promise<void>((resolve) =>
      child && child.exitCode === null && child.signalCode === null ? child.once('exit', () => resolve()) : resolve(),
    );
  return {
    dir,
    config,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    pgPort,
    start: () =>
      new Promise<void>((resolve, reject) => {
        out = '';
        child = spawn(process.execPath, [CLI, 'serve', '--config', config], {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const timer = setTimeout(() => reject(new Error(`the gateway did not start: ${out}`)), 60_000);
        const onData = (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('gatehouse: http')) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`the gateway exited (${signal ?? code}): ${out}`));
        });
      }),
    async kill() {
      child?.kill('SIGKILL');
      await exited();
    },
    async stop() {
      child?.kill('SIGTERM');
      await exited();
    },
    output: () => out,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Opens a session the way the Action does: a dev-issuer OIDC token for acme/app exchanged at POST /v1/sessions. */
export async function openSession(gateway: GatewayProcess, store: string): Promise<{ id: string; token: string }> {
  const db = await createStore(store, { mustExist: true });
  let jwt: string;
  try {
    jwt = await mintDevToken(await loadDevIssuerKey(db), PUBLIC_URL, { repository: 'acme/app' }, systemClock);
  } finally {
    await db.close();
  }
  const response = await fetch(`${gateway.httpUrl}/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: jwt, connections: ['app-db'] }),
  });
  if (response.status !== 201) throw new Error(`no session: ${response.status} ${await response.text()}`);
  return (await response.json()) as { id: string; token: string };
}

/** Runs `gatehouse <args>` as its own process; resolves with its exit code and output. */
export function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * Clients that run `SELECT '<prefix>-<client>-<n>'` one after another, each remembering the statements
 * the gateway answered with a result: what a client "saw succeed".
 */
export interface Load {
  succeeded: Set<string>;
  errors: string[];
  stop(): Promise<void>;
  /** Resolves once `count` statements succeeded. */
  reached(count: number): Promise<void>;
}

export function runLoad(url: string, clients: number, prefix = 'k'): Load {
  const succeeded = new Set<string>();
  const errors: string[] = [];
  let stopped = false;
  const loops = Array.from({ length: clients }, async (_, c) => {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => {});
    try {
      await client.connect();
      for (let n = 0; !stopped; n++) {
        const text = `${prefix}-${c}-${n}`;
        await client.query(`SELECT '${text}' AS k`);
        succeeded.add(text);
      }
    } catch (error) {
      errors.push((error as Error).message);
    } finally {
      await client.end().catch(() => {});
    }
  });
  return {
    succeeded,
    errors,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
    async reached(count) {
      for (let i = 0; i < 1200 && succeeded.size < count; i++) await new Promise((r) => setTimeout(r, 25));
      if (succeeded.size < count) throw new Error(`only ${succeeded.size} statements succeeded: ${errors.join('; ')}`);
    },
  };
}

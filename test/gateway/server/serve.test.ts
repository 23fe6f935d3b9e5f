import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/pg-target.ts';

const run = promisify(execFile);
const TOKEN = 'serve-test-token-abcdefghijklmnop';
let db: TestDatabase;
let child: ChildProcess;
let httpUrl: string;
let pgPort: number;

beforeAll(async () => {
  db = await createTestDatabase();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-serve-'));
  writeFileSync(
    path.join(dir, 'gatehouse.yaml'),
    [
      'listen: { http: "127.0.0.1:0", postgres: "127.0.0.1:0" }',
      'store: ./store',
      `policies: ${path.resolve('policies')}`,
      'connections:',
      '  app-db:',
      '    type: postgres',
      `    url: ${db.url}`,
      'static_tokens:',
      `  - { name: ci, token: "\${env:CI_TOKEN}", connections: [app-db] }`,
    ].join('\n'),
  );
  child = spawn(process.execPath, ['bin/gatehouse.js', 'serve', '--config', path.join(dir, 'gatehouse.yaml')], {
    env: { ...process.env, CI_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const banner = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out);
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
  });
  httpUrl = /http (\S+),/.exec(banner)![1]!;
  pgPort = Number(/postgres 127\.0\.0\.1:(\d+)/.exec(banner)![1]);
}, 90_000);

afterAll(async () => {
  if (child?.exitCode === null) child.kill('SIGKILL');
  await db?.drop();
});

describe('gatehouse serve', () => {
  it('serves the native PostgreSQL listener, /healthz and /metrics that count what passed', async () => {
    const url = `postgres://ci:${TOKEN}@127.0.0.1:${pgPort}/app-db`;
    const { stdout } = await run('psql', [url, '-tA', '-c', 'SELECT count(*) FROM orders']);
    expect(stdout.trim()).toBe('30');
    await run('psql', [url, '-c', 'DROP TABLE orders']).catch(() => undefined);
    expect(await (await fetch(`${httpUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    const metrics = await (await fetch(`${httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/gatehouse_statements_total\{protocol="postgres",decision="allow"\} [1-9]/);
    expect(metrics).toMatch(/gatehouse_statements_total\{protocol="postgres",decision="deny"\} [1-9]/);
    expect(metrics).toMatch(/gatehouse_bytes_total\{direction="out"\} [1-9]/);
    expect(metrics).toMatch(/gatehouse_connections_total\{protocol="postgres"\} [1-9]/);
  });

  it('stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('gatehouse serve with a broken config', () => {
  it('names the file, the line, the key and the fix, without a stack trace', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-serve-bad-'));
    writeFileSync(
      path.join(dir, 'gatehouse.yaml'),
      'connections:\n  app-db:\n    type: postgres\n    url: postgres://x@y/z\n    sslmode: sometimes\n',
    );
    const failed = await run(process.execPath, [
      'bin/gatehouse.js',
      'serve',
      '--config',
      path.join(dir, 'gatehouse.yaml'),
    ]).catch((e) => e);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(
      `${path.join(dir, 'gatehouse.yaml')}:5: /connections/app-db/sslmode must be one of disable, require, verify-full`,
    );
    expect(failed.stderr).not.toMatch(/\n\s+at /);
  });
});

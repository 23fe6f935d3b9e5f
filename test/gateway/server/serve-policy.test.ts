import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('gatehouse serve with a policy that does not apply as written', () => {
  it('refuses to start, naming the masking section whose connection was renamed', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-serve-policy-'));
    mkdirSync(path.join(dir, 'policies'));
    writeFileSync(
      path.join(dir, 'policies', 'masking.yaml'),
      'masking:\n  - { connections: [app_db], columns: [{ column: public.customers.email }] }\n',
    );
    writeFileSync(
      path.join(dir, 'gatehouse.yaml'),
      [
        'listen: { http: "127.0.0.1:0", postgres: "127.0.0.1:0" }',
        'store: memory://',
        'policies: ./policies',
        'connections:',
        '  app-db: { type: postgres, url: "postgres://postgres@127.0.0.1:5432/postgres" }',
      ].join('\n'),
    );
    const outcome = await run(
      process.execPath,
      ['bin/gatehouse.js', 'serve', '--config', path.join(dir, 'gatehouse.yaml')],
      {
        timeout: 60_000,
      },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain("masking[0]: connection 'app_db' is not defined in gatehouse.yaml");
    expect(outcome.stderr).not.toMatch(/\n\s+at /);
  });
});

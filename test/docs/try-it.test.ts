import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, usingRealServer, type TestDatabase } from '../support/pg-target.ts';
import { freePort } from '../support/sshd.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = path.join(ROOT, 'bin/gatehouse.js');

/** The commands of README's "Try it on your own database", exactly as a reader copies them. */
function readmeCommands(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = /<!-- try-it:start -->\n```bash\n([\s\S]*?)```\n<!-- try-it:end -->/.exec(readme);
  if (!section) throw new Error('README.md lost its try-it section (<!-- try-it:start --> ... <!-- try-it:end -->)');
  return section[1]!;
}

/** Waits until the held UPDATE is listed and prints its id: the reader's "the id from the list". */
const waitForHeld = (): string => `wait_for_held() {
  for _ in $(seq 1 150); do
    id=$(node '${CLI}' approvals list --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const a=JSON.parse(s);if(a[0])console.log(a[0].id)})')
    if [ -n "$id" ]; then echo "$id"; return 0; fi
    sleep 0.2
  done
  return 1
}`;

/**
 * The reader's commands with only what a test must change: its own ports and database, the
 * checkout's CLI for \`npx gatehouse\`, and the id read from the list instead of typed.
 */
async function script(database: string, store?: string): Promise<string> {
  const [http, postgres, proxy] = [await freePort(), await freePort(), await freePort()];
  let text = readmeCommands()
    .replace(/^export DATABASE=\S+/m, `export DATABASE='${database}'`)
    .replaceAll('127.0.0.1:8080', `127.0.0.1:${http}`)
    .replaceAll('127.0.0.1:6432', `127.0.0.1:${postgres}`)
    .replaceAll('mydb:15432', `mydb:${proxy}`)
    .replace(/^(npx gatehouse approvals list)/m, 'wait_for_held >/dev/null && $1')
    .replace('apr_...', '"$(wait_for_held)"')
    .replaceAll('npx gatehouse', `node '${CLI}'`);
  if (store) text = text.replace('policies: ./policies\\n', `policies: ./policies\\nstore: "${store}"\\n`);
  return [
    'set -euo pipefail',
    waitForHeld(),
    'trap \'kill $(jobs -p) 2>/dev/null || true; [ -f proxy.pid ] && kill "$(cat proxy.pid)" 2>/dev/null || true\' EXIT',
    text,
  ].join('\n');
}

function bash(source: string, cwd: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', source],
      { cwd, timeout: 150_000, env: { ...process.env, PGCONNECT_TIMEOUT: '10' } },
      (error, out, err) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out, err }),
    );
  });
}

async function body(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ body: string }>('SELECT body FROM try_notes WHERE id = 1')).rows[0]!.body;
  } finally {
    await client.end();
  }
}

describe("README's try it on your own database", () => {
  const made: TestDatabase[] = [];
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-try-'));
  });
  afterAll(async () => {
    for (const database of made) await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function runIn(name: string, store?: 'postgres'): Promise<{ out: string; err: string; target: string }> {
    const target = await createTestDatabase('SELECT 1');
    made.push(target);
    const storeDb = store ? await createTestDatabase('SELECT 1') : undefined;
    if (storeDb) made.push(storeDb);
    const cwd = path.join(dir, name);
    await import('node:fs/promises').then((fs) => fs.mkdir(cwd));
    symlinkSync(path.join(ROOT, 'policies'), path.join(cwd, 'policies'));
    const result = await bash(await script(target.url, storeDb?.url), cwd);
    expect(result, result.err).toMatchObject({ code: 0 });
    return { ...result, target: target.url };
  }

  function expectTheWholeStory({ out, err }: { out: string; err: string }): void {
    expect(err).toContain('warning: the dev issuer is on');
    expect(out).toMatch(/^CREATE TABLE\nINSERT 0 1$/m);
    expect(out).toMatch(/^ID\s+JOB\s+CONNECTION\s+AGE\s+DEADLINE\s+STATEMENT$/m);
    expect(out).toMatch(/^apr_\S+\s+acme\/app run \d+\s+mydb\s+.*UPDATE try_notes SET body = .* WHERE id = 1$/m);
    expect(out).toMatch(/^approval apr_\S+: approved$/m);
    expect(err).toMatch(/held for approval apr_\S+ \(rule "updates-need-review"\)/);
    expect(err).toMatch(/an operator approves with: gatehouse approvals approve apr_\S+/);
    expect(out).toMatch(/^UPDATE 1$/m);
    expect(out).toMatch(/approval\.decided\s+approved\s+apr_\S+ by cli:/);
    expect(out).toMatch(/statement\s+allow\s+updates-need-review\s+UPDATE try_notes/);
    expect(out).toMatch(/^session ses_\S+\s+ended \(disconnect\)\s+sealed$/m);
    expect(out).toMatch(/^verified \d+ events, signature ok/m);
  }

  it('runs command by command on the embedded store, with the gateway running', { timeout: 180_000 }, async () => {
    const result = await runIn('embedded');
    expectTheWholeStory(result);
    expect(await body(result.target)).toBe('final');
  });

  it.runIf(usingRealServer())('runs the same commands on a PostgreSQL store', { timeout: 180_000 }, async () => {
    const result = await runIn('postgres', 'postgres');
    expectTheWholeStory(result);
    expect(await body(result.target)).toBe('final');
  });
});

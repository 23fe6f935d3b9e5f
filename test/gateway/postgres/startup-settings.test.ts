import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startupSettings } from '../../../gateway/postgres/startup-settings.ts';
import { STATIC_TOKEN } from '../../support/gateway-harness.ts';
import { startAttackBed, type AttackBed } from '../../support/attack-bed.ts';

const run = promisify(execFile);

/** psql through the gateway with PGOPTIONS set; stdout, or the error text and exit status. */
async function psqlWithOptions(url: string, options: string, ...commands: string[]) {
  try {
    const { stdout } = await run(
      'psql',
      [url, '-X', '-tA', '-v', 'ON_ERROR_STOP=1', ...commands.flatMap((c) => ['-c', c])],
      {
        env: { ...process.env, PGOPTIONS: options },
      },
    );
    return { ok: true, out: stdout.trim() };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('startup settings read as the server reads them', () => {
  it('splits options into -c, -cname and --name settings, with escaped spaces and dashes as underscores', () => {
    const found = startupSettings(
      new Map([
        ['user', 'ci'],
        ['database', 'app-db'],
        ['options', '-c statement_timeout=1500 -csearch_path=a,\\ b --lock-timeout=2s'],
        ['application_name', 'ci job'],
      ]),
    );
    expect('settings' in found && [...found.settings]).toEqual([
      ['statement_timeout', '1500'],
      ['search_path', 'a, b'],
      ['lock_timeout', '2s'],
      ['application_name', 'ci job'],
    ]);
  });

  it('says why an options switch that is not a setting cannot be judged', () => {
    expect(startupSettings(new Map([['options', '-B 100']]))).toMatchObject({
      problem: expect.stringContaining('"-B"'),
    });
    expect(startupSettings(new Map([['options', '-c statement_timeout']]))).toMatchObject({
      problem: expect.stringContaining('-c name=value'),
    });
  });
});

describe('startup parameters through the gateway (default policy)', () => {
  let bed: AttackBed;
  beforeAll(async () => {
    bed = await startAttackBed({ policies: ['policies/default.yaml'] });
  });
  afterAll(async () => {
    await bed?.close();
  });

  it('forwards PGOPTIONS: a read-only default refuses writes and statement_timeout cancels a long query', async () => {
    const options = '-c default_transaction_read_only=on -c statement_timeout=1500';
    const write = await psqlWithOptions(bed.gateway.url, options, "UPDATE orders SET status = 'x' WHERE id = 1");
    expect(write).toMatchObject({ ok: false, out: expect.stringContaining('read-only transaction') });
    const started = Date.now();
    const slow = await psqlWithOptions(bed.gateway.url, options, 'SELECT pg_sleep(5)');
    expect(slow).toMatchObject({ ok: false, out: expect.stringContaining('statement timeout') });
    expect(Date.now() - started).toBeLessThan(4000);
    expect((await bed.direct('SELECT status FROM orders WHERE id = 1')).rows[0].status).toBe('open');
  });

  it('forwards search_path, lock_timeout and custom settings given in options or as parameters', async () => {
    const shown = await psqlWithOptions(
      bed.gateway.url,
      '-c search_path=pg_catalog,public --lock-timeout=2s -c myapp.tenant=acme',
      'SHOW search_path',
      'SHOW lock_timeout',
      "SELECT current_setting('myapp.tenant')",
    );
    expect(shown).toEqual({ ok: true, out: 'pg_catalog,public\n2s\nacme' });
    const client = new pg.Client({
      connectionString: bed.gateway.url,
      statement_timeout: 1200,
      idle_in_transaction_session_timeout: 3000,
    });
    await client.connect();
    try {
      const { rows } = await client.query(
        "SELECT current_setting('statement_timeout') AS s, current_setting('idle_in_transaction_session_timeout') AS i",
      );
      expect(rows[0]).toEqual({ s: '1200ms', i: '3s' });
    } finally {
      await client.end();
    }
  });

  it('refuses the connection when the policy refuses the SET a startup setting is, naming the rule', async () => {
    const replica = await psqlWithOptions(bed.gateway.url, '-c session_replication_role=replica', 'SELECT 1');
    expect(replica.ok).toBe(false);
    expect(replica.out).toMatch(
      /startup parameters refused: gatehouse: denied by rule "no-(server-administration|dangerous-functions)"/,
    );
    expect(replica.out).toContain(`SET "session_replication_role" TO 'replica'`);
    const role = new pg.Client({ connectionString: bed.gateway.url, options: '-c role=pg_read_server_files' });
    await expect(role.connect()).rejects.toMatchObject({
      code: '42501',
      message: expect.stringMatching(/denied by rule "no-(privilege-changes|dangerous-functions)"/),
    });
    const logging = await psqlWithOptions(bed.gateway.url, '-c log_statement=none', 'SELECT 1');
    expect(logging).toMatchObject({
      ok: false,
      out: expect.stringMatching(/denied by rule "no-(server-administration|dangerous-functions)"/),
    });
  });

  it('refuses an options switch that is not a setting instead of dropping it', async () => {
    const answer = await psqlWithOptions(bed.gateway.url, '-B 100', 'SELECT 1');
    expect(answer).toMatchObject({ ok: false, out: expect.stringContaining('only -c name=value') });
  });

  it("answers a value the server rejects with the server's own SQLSTATE and message", async () => {
    const client = new pg.Client({ connectionString: bed.gateway.url, options: '-c statement_timeout=soon' });
    await expect(client.connect()).rejects.toMatchObject({
      code: '22023',
      message: expect.stringContaining('statement_timeout'),
    });
  });

  it('records the startup settings in the session log as the statement they are', async () => {
    await psqlWithOptions(bed.gateway.url, '-c work_mem=8MB', 'SELECT 1');
    const session = await bed.gateway.sessions.authenticate(STATIC_TOKEN);
    await bed.gateway.recorder.flush();
    const events = await bed.gateway.store.listAuditEvents(session!.sessionId);
    const set = events.find((e) => String(e.data.text ?? '').includes('"work_mem"'));
    expect(set).toMatchObject({ data: { decision: 'allow', rule: 'allow-analysed-sql' } });
  });
});

describe('startup parameters under the read-only policy', () => {
  let bed: AttackBed;
  beforeAll(async () => {
    bed = await startAttackBed({ policies: ['policies/examples/read-only.yaml'] });
  });
  afterAll(async () => {
    await bed?.close();
  });

  it('refuses a startup setting that would lift the read-only session', async () => {
    const answer = await psqlWithOptions(bed.gateway.url, '-c default_transaction_read_only=off', 'SELECT 1');
    expect(answer).toMatchObject({ ok: false, out: expect.stringContaining('read-only-session') });
    const plain = await psqlWithOptions(bed.gateway.url, '-c statement_timeout=5s', 'SHOW statement_timeout');
    expect(plain).toEqual({ ok: true, out: '5s' });
  });
});

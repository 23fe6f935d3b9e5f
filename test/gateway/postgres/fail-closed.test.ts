import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type GatewayUnderTest } from '../../support/gateway-harness.ts';
import { createTestDatabase, type TestDatabase } from '../../support/pg-target.ts';
import { findLeak, maskingCorpus } from '../masking/masking-fixture.ts';
import { WireClient } from './wire-client.ts';

const sensitive = maskingCorpus().sensitive;
const LEAKY = "SELECT api_token || '' AS x FROM customers";
const HARMLESS = "SELECT 'abc'::text AS x FROM customers";

/** Runs `steps` on one raw protocol connection; each step is sent and read up to its ReadyForQuery. */
async function wire(...steps: Buffer[][]): Promise<string> {
  const client = await WireClient.connect(gateway.url);
  const seen: string[] = [];
  try {
    for (const step of steps) {
      client.send(...step);
      seen.push(WireClient.text(await client.readyForQuery()));
    }
  } finally {
    client.end();
  }
  return seen.join('\n');
}

const run = promisify(execFile);
let db: TestDatabase;
let gateway: GatewayUnderTest;

beforeAll(async () => {
  db = await createTestDatabase();
  const policies = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-fail-closed-'));
  copyFileSync(path.resolve('policies/default.yaml'), path.join(policies, 'default.yaml'));
  copyFileSync(path.resolve('policies/examples/masking.yaml'), path.join(policies, 'masking.yaml'));
  gateway = await startTestGateway(db, { policies });
});

afterAll(async () => {
  await gateway?.close();
  await db?.drop();
});

/** Runs each SQL string as its own simple Query on one psql connection; returns stdout+stderr. */
async function psql(...queries: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run('psql', [gateway.url, '-X', '-At', ...queries.flatMap((q) => ['-c', q])]);
    return stdout + stderr;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
}

async function ordersExist(): Promise<boolean> {
  const { stdout } = await run('psql', [
    db.url,
    '-X',
    '-At',
    '-c',
    "SELECT count(*) FROM pg_tables WHERE tablename = 'orders'",
  ]);
  return stdout.trim() === '1';
}

describe('the data path fails closed', () => {
  it('denies set_config of a setting that changes how the server lexes SQL, so a later statement cannot hide a DROP in a string', async () => {
    const out = await psql(
      "SELECT set_config('standard_conforming_strings', 'off', false)",
      "SELECT 'x\\' -- '; DROP TABLE orders; --",
    );
    expect(out).toMatch(/denied by rule "no-dangerous-functions"/);
    expect(await ordersExist()).toBe(true);
    const encoding = await psql("SELECT set_config('client_encoding', 'SJIS', false)");
    expect(encoding).toMatch(/denied by rule "no-dangerous-functions"/);
  });

  it('masks the statement after an EXECUTE whose name may hold several definitions (results stay attributed to their own statement)', async () => {
    const out = await wire(
      [serialize.parse({ name: 'dup', text: "SELECT 'abc'::text AS x" }), serialize.sync()],
      [serialize.parse({ name: 'dup', text: "SELECT 'def'::text AS x" }), serialize.sync()],
      [serialize.query(`EXECUTE dup; ${LEAKY}`)],
    );
    expect(out).toContain('already exists');
    expect(findLeak(out, sensitive), out).toBeNull();
  });

  it('masks a Bind of a name whose re-Parse failed as what the server may still hold under it', async () => {
    const out = await wire(
      [serialize.parse({ name: 'kept', text: LEAKY }), serialize.sync()],
      [serialize.parse({ name: 'kept', text: HARMLESS }), serialize.sync()],
      [serialize.bind({ statement: 'kept' }), serialize.execute({}), serialize.sync()],
    );
    expect(out).toContain('already exists');
    expect(out).toMatch(/C:SELECT 3/);
    expect(findLeak(out, sensitive), out).toBeNull();
  });

  it('keeps following a prepared statement whose Close the server skipped after an earlier error in the pipeline', async () => {
    const out = await wire(
      [serialize.parse({ name: 'skipped', text: LEAKY }), serialize.sync()],
      [
        serialize.parse({ text: 'SELECT 1/0' }),
        serialize.bind({}),
        serialize.execute({}),
        serialize.close({ type: 'S', name: 'skipped' }),
        serialize.sync(),
      ],
      [serialize.parse({ name: 'skipped', text: HARMLESS }), serialize.sync()],
      [serialize.bind({ statement: 'skipped' }), serialize.execute({}), serialize.sync()],
    );
    expect(out).toContain('division by zero');
    expect(out).toContain('already exists');
    expect(findLeak(out, sensitive), out).toBeNull();
  });

  it('forgets a prepared statement once its Close completed, so the name can be prepared again', async () => {
    const out = await wire(
      [serialize.parse({ name: 'again', text: LEAKY }), serialize.sync()],
      [serialize.close({ type: 'S', name: 'again' }), serialize.sync()],
      [
        serialize.parse({ name: 'again', text: HARMLESS }),
        serialize.bind({ statement: 'again' }),
        serialize.execute({}),
        serialize.sync(),
      ],
    );
    expect(out).not.toContain('already exists');
    expect(out).toMatch(/D:[^\n]*abc/);
  });

  it('keeps following a prepared statement whose DEALLOCATE never ran (parsed only, or after an error)', async () => {
    const out = await wire(
      [serialize.parse({ name: 'dz', text: LEAKY }), serialize.sync()],
      [serialize.parse({ text: 'DEALLOCATE dz' }), serialize.sync()],
      [serialize.query('SELECT 1/0; DEALLOCATE dz')],
      [serialize.parse({ name: 'dz', text: HARMLESS }), serialize.sync()],
      [serialize.bind({ statement: 'dz' }), serialize.execute({}), serialize.sync()],
    );
    expect(out).toContain('division by zero');
    expect(out).toContain('already exists');
    expect(findLeak(out, sensitive), out).toBeNull();
  });

  it('forgets a prepared statement once its DEALLOCATE ran', async () => {
    const out = await wire(
      [serialize.parse({ name: 'dd', text: LEAKY }), serialize.sync()],
      [serialize.query('DEALLOCATE dd')],
      [
        serialize.parse({ name: 'dd', text: HARMLESS }),
        serialize.bind({ statement: 'dd' }),
        serialize.execute({}),
        serialize.sync(),
      ],
    );
    expect(out).not.toContain('already exists');
    expect(out).toMatch(/D:[^\n]*abc/);
  });

  it('masks FETCH from a cursor whose later DECLARE of the same name never ran', async () => {
    const out = await wire(
      [serialize.query(`DECLARE hc CURSOR WITH HOLD FOR ${LEAKY}`)],
      [serialize.parse({ text: `DECLARE hc CURSOR WITH HOLD FOR ${HARMLESS}` }), serialize.sync()],
      [serialize.query(`DECLARE hc CURSOR WITH HOLD FOR ${HARMLESS}`)],
      [serialize.query('FETCH ALL FROM hc')],
      [serialize.query(`CLOSE hc; DECLARE hc CURSOR WITH HOLD FOR ${HARMLESS}`)],
      [serialize.query('FETCH 1 FROM hc')],
    );
    expect(out).toContain('already exists');
    expect(findLeak(out, sensitive), out).toBeNull();
    expect(out).toMatch(/D:[^\n]*abc\nC:FETCH 1/);
  });

  it('runs the detectors over a setting the server reports back (ParameterStatus)', async () => {
    await run('psql', [
      db.url,
      '-X',
      '-c',
      "CREATE TABLE vault (secret text); INSERT INTO vault VALUES ('card 4111111111111111')",
    ]);
    const out = await wire([serialize.query("SELECT set_config('application_name', secret, false) FROM vault")]);
    expect(out).toMatch(/S:application_name/);
    expect(findLeak(out, sensitive), out).toBeNull();
  });

  it('keeps replies attributed after a Sync the target ignored during COPY FROM STDIN', async () => {
    await run('psql', [db.url, '-X', '-c', 'CREATE TABLE IF NOT EXISTS inbox (line text)']);
    const client = await WireClient.connect(gateway.url);
    const seen: string[] = [];
    try {
      client.send(serialize.query('COPY inbox FROM STDIN'));
      seen.push(WireClient.text(await client.until((m) => m.type === 'G')));
      client.send(serialize.sync(), serialize.copyDone());
      seen.push(WireClient.text(await client.readyForQuery()));
      client.send(serialize.query(HARMLESS));
      seen.push(WireClient.text(await client.readyForQuery()));
      client.send(serialize.query(LEAKY));
      seen.push(WireClient.text(await client.readyForQuery()));
    } finally {
      client.end();
    }
    const out = seen.join('\n');
    expect(out).toContain('C:COPY 0');
    expect(findLeak(out, sensitive), out).toBeNull();
  });

  it('closes a connection that sends a query in the middle of COPY FROM STDIN', async () => {
    await run('psql', [db.url, '-X', '-c', 'CREATE TABLE IF NOT EXISTS inbox (line text)']);
    const client = await WireClient.connect(gateway.url);
    client.send(
      serialize.query('COPY inbox FROM STDIN'),
      serialize.query(HARMLESS),
      serialize.copyDone(),
      serialize.query(LEAKY),
    );
    const out = WireClient.text(await client.until(() => false));
    expect(client.closed).toBe(true);
    expect(out).toContain('during COPY FROM STDIN');
    expect(findLeak(out, sensitive), out).toBeNull();
  });

  it('relays COPY FROM STDIN sent as Parse/Bind/Execute/Sync with a Sync after CopyDone, as libpq does', async () => {
    await run('psql', [db.url, '-X', '-c', 'CREATE TABLE IF NOT EXISTS inbox (line text)']);
    const client = await WireClient.connect(gateway.url);
    try {
      client.send(
        serialize.parse({ text: 'COPY inbox FROM STDIN' }),
        serialize.bind({}),
        serialize.describe({ type: 'P' }),
        serialize.execute({}),
        serialize.sync(),
      );
      await client.until((m) => m.type === 'G');
      client.send(serialize.copyData(Buffer.from('hello\n')), serialize.copyDone(), serialize.sync());
      expect(WireClient.text(await client.readyForQuery())).toContain('C:COPY 1');
      client.send(serialize.query('SELECT 7 AS seven'));
      expect(WireClient.text(await client.readyForQuery())).toMatch(/D:[^\n]*7/);
    } finally {
      client.end();
    }
  });

  it('refuses a denied Bind even when the client prepared the name the gateway binds in its place', async () => {
    await run('psql', [db.url, '-X', '-c', 'CREATE TABLE IF NOT EXISTS inbox (line text)']);
    const out = await wire(
      [
        serialize.parse({ name: '\u0001gatehouse-denied', text: "INSERT INTO inbox VALUES ('substitute ran')" }),
        serialize.sync(),
      ],
      [serialize.bind({ statement: 'never-prepared' }), serialize.execute({}), serialize.sync()],
    );
    expect(out).toContain('was not prepared through the gateway');
    const { stdout } = await run('psql', [
      db.url,
      '-X',
      '-At',
      '-c',
      "SELECT count(*) FROM inbox WHERE line = 'substitute ran'",
    ]);
    expect(stdout.trim()).toBe('0');
  });

  it('denies an operator, aggregate or cast defined over a dangerous function, which later calls would not show', async () => {
    for (const sql of [
      'CREATE OPERATOR ### (rightarg = text, function = pg_read_file)',
      'CREATE AGGREGATE peek(text) (sfunc = textcat, stype = text, finalfunc = pg_catalog.pg_read_file)',
    ]) {
      expect(await psql(sql)).toMatch(/denied by rule "no-dangerous-functions"/);
    }
    const { stdout } = await run('psql', [
      db.url,
      '-X',
      '-At',
      '-c',
      "SELECT count(*) FROM pg_operator WHERE oprname = '###'",
    ]);
    expect(stdout.trim()).toBe('0');
  });

  it('masks a portal with its own statement when a Describe of the portal it replaced is answered late', async () => {
    const client = await WireClient.connect(gateway.url);
    const seen: string[] = [];
    try {
      client.send(
        serialize.parse({ name: 'late-a', text: HARMLESS }),
        serialize.parse({ name: 'late-b', text: LEAKY }),
        serialize.sync(),
      );
      seen.push(WireClient.text(await client.readyForQuery()));
      client.send(
        serialize.bind({ statement: 'late-a' }),
        serialize.describe({ type: 'P' }),
        serialize.bind({ statement: 'late-b' }),
      );
      client.send(serialize.flush());
      let binds = 0;
      seen.push(WireClient.text(await client.until((m) => m.type === '2' && ++binds === 2)));
      client.send(serialize.execute({}), serialize.sync());
      seen.push(WireClient.text(await client.readyForQuery()));
    } finally {
      client.end();
    }
    const out = seen.join('\n');
    expect(out).toMatch(/C:SELECT 3/);
    expect(findLeak(out, sensitive), out).toBeNull();
  });

  it('masks rows of an Execute with the portal it ran, when the pipeline rebinds the name before the rows arrive', async () => {
    const out = await wire(
      [
        serialize.parse({ name: 'pipe-a', text: HARMLESS }),
        serialize.parse({ name: 'pipe-b', text: LEAKY }),
        serialize.sync(),
      ],
      [
        serialize.bind({ statement: 'pipe-b' }),
        serialize.describe({ type: 'S', name: 'pipe-a' }),
        serialize.execute({}),
        serialize.bind({ statement: 'pipe-a' }),
        serialize.sync(),
      ],
    );
    expect(out).toMatch(/C:SELECT 3/);
    expect(findLeak(out, sensitive), out).toBeNull();
  });

  it('masks COPY whose QUOTE or ESCAPE is a line break or a digit, or refuses it', async () => {
    for (const sql of [
      "COPY customers TO STDOUT (FORMAT csv, QUOTE E'\\n')",
      "COPY customers TO STDOUT (FORMAT csv, ESCAPE E'\\r')",
      "COPY customers TO STDOUT WITH CSV QUOTE AS E'\\n'",
      "COPY customers TO STDOUT (FORMAT csv, DELIMITER '-', ESCAPE '1')",
      "COPY customers TO STDOUT (FORMAT csv, DELIMITER 'x', QUOTE ',', ESCAPE '1')",
    ]) {
      const out = await psql(sql);
      expect(findLeak(out, sensitive), `${sql}\n${out}`).toBeNull();
    }
    const plain = await psql("COPY (SELECT id, name FROM customers ORDER BY id) TO STDOUT (FORMAT csv, QUOTE '''')");
    expect(plain).toContain('1,Ada Lovelace');
  });

  it('runs the detectors over the text inside binary arrays and records', async () => {
    const binary = (sql: string) =>
      wire([serialize.parse({ text: sql }), serialize.bind({ binary: true }), serialize.execute({}), serialize.sync()]);
    for (const sql of [
      'SELECT ARRAY[notes] FROM customers',
      'SELECT ROW(id, notes) FROM customers',
      'SELECT array_agg(notes) FROM customers',
    ]) {
      const out = await binary(sql);
      expect(out, sql).toMatch(/C:SELECT/);
      expect(findLeak(out, sensitive), `${sql}\n${out}`).toBeNull();
    }
    expect(await binary('SELECT ARRAY[name] FROM customers ORDER BY id')).toContain('Ada Lovelace');
  });
});

describe('the data path fails closed without masking', () => {
  let plain: GatewayUnderTest;
  beforeAll(async () => {
    const policies = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-fail-closed-plain-'));
    copyFileSync(path.resolve('policies/default.yaml'), path.join(policies, 'default.yaml'));
    plain = await startTestGateway(db, { policies });
  });
  afterAll(async () => {
    await plain?.close();
  });

  it('denies a function whose SET clause changes how its body is lexed when it runs', async () => {
    const body = "SELECT 'x\\' -- '; DELETE FROM orders; SELECT 1 --'";
    const queries = [
      `CREATE FUNCTION lexed() RETURNS int LANGUAGE sql SET standard_conforming_strings = off AS $fn$ ${body} $fn$`,
      'SELECT lexed()',
    ];
    const out = await run('psql', [plain.url, '-X', '-At', ...queries.flatMap((q) => ['-c', q])]).then(
      (r) => r.stdout + r.stderr,
      (e) => `${e.stdout}${e.stderr}`,
    );
    expect(out).toMatch(/denied by rule "no-dangerous-functions"/);
    const { stdout } = await run('psql', [db.url, '-X', '-At', '-c', 'SELECT count(*) FROM orders']);
    expect(stdout.trim()).toBe('30');
  });
});

import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { startTestGateway, type GatewayUnderTest } from './gateway-harness.ts';
import { createTestDatabase, FIXTURE_SQL, type TestDatabase } from './pg-target.ts';

const run = promisify(execFile);

/** What a client saw: success and its output, or the error (message and SQLSTATE). */
export interface Outcome {
  ok: boolean;
  output: string;
  code?: string;
}

/**
 * A real gateway over a fresh fixture database, with the helpers an attack test needs: psql and
 * node-postgres through the gateway, a direct connection (the server's own view), and a
 * fingerprint of everything a statement could change.
 */
export interface AttackBed {
  db: TestDatabase;
  gateway: GatewayUnderTest;
  /** Runs SQL on a direct connection (setup "done earlier by someone else", and checks). */
  direct(sql: string | pg.QueryConfig | pg.QueryArrayConfig, values?: unknown[]): Promise<pg.QueryResult>;
  psql(sql: string): Promise<Outcome>;
  node(sql: string, params?: unknown[], options?: { binary?: boolean }): Promise<Outcome>;
  /** Relations, functions, triggers, rules, policies and the fixture's rows, as one comparable string. */
  fingerprint(): Promise<string>;
  close(): Promise<void>;
}

export interface AttackBedOptions {
  /** Policy files (paths) copied into the gateway's policy folder, or literal YAML by file name. */
  policies: readonly string[];
  yaml?: Record<string, string>;
  /** SQL run on a direct connection after the fixture, before the gateway starts. */
  setup?: string;
  extraYaml?: string;
}

export async function startAttackBed(options: AttackBedOptions): Promise<AttackBed> {
  const db = await createTestDatabase(`${FIXTURE_SQL}\n${options.setup ?? ''}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-attack-policies-'));
  for (const file of options.policies) copyFileSync(path.resolve(file), path.join(dir, path.basename(file)));
  for (const [name, text] of Object.entries(options.yaml ?? {})) writeFileSync(path.join(dir, name), text);
  const gateway = await startTestGateway(db, { policies: dir, extraYaml: options.extraYaml });
  const direct = new pg.Client({ host: db.host, port: db.port, user: db.user, database: db.database });
  await direct.connect();
  return {
    db,
    gateway,
    direct: (sql, values) => (typeof sql === 'string' ? direct.query(sql, values) : direct.query(sql)),
    psql: (sql) => viaPsql(gateway.url, sql),
    node: (sql, params = [], opts = {}) => viaNode(gateway.url, sql, params, opts.binary ?? false),
    fingerprint: () => fingerprint(direct),
    async close() {
      await direct.end();
      await gateway.close();
      await db.drop();
    },
  };
}

async function viaPsql(url: string, sql: string): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run('psql', [url, '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql]);
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

async function viaNode(url: string, sql: string, params: unknown[], binary: boolean): Promise<Outcome> {
  const client = new pg.Client({ connectionString: url, binary } as pg.ClientConfig);
  const notices: string[] = [];
  client.on('notice', (n) => notices.push(n.message ?? ''));
  client.on('error', () => undefined);
  try {
    await client.connect();
    const res = await client.query({ text: sql, values: params, queryMode: 'extended' } as pg.QueryConfig);
    const rows = (res.rows as Record<string, unknown>[]).map((r) =>
      Object.values(r).map((v) => (Buffer.isBuffer(v) ? v.toString('latin1') : v)),
    );
    return { ok: true, output: JSON.stringify(rows) + notices.join('\n') };
  } catch (error) {
    const e = error as { message: string; code?: string; detail?: string; hint?: string };
    return { ok: false, output: [e.message, e.detail, e.hint, ...notices].filter(Boolean).join('\n'), code: e.code };
  } finally {
    await client.end().catch(() => undefined);
  }
}

const FINGERPRINT_SQL = `
  SELECT json_build_object(
    'relations', (SELECT string_agg(n.nspname || '.' || c.relname || ':' || c.relkind::text, ',' ORDER BY 1)
                    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')),
    'functions', (SELECT string_agg(p.oid || ':' || n.nspname || '.' || p.proname || ':' || md5(p.prosrc), ',' ORDER BY p.oid)
                    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                   WHERE p.oid >= 16384 OR n.nspname <> 'pg_catalog'),
    'renamed', (SELECT count(*) FROM pg_proc WHERE oid < 16384 AND proname IN ('cfg_text', 'cfg')),
    'triggers', (SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger WHERE NOT tgisinternal),
    'rules', (SELECT string_agg(rulename, ',' ORDER BY rulename) FROM pg_rewrite WHERE rulename <> '_RETURN'),
    'policies', (SELECT string_agg(polname, ',' ORDER BY polname) FROM pg_policy),
    'orders', (SELECT string_agg(id || ':' || total || ':' || status, ',' ORDER BY id) FROM orders),
    'customers', (SELECT string_agg(id || ':' || name || ':' || coalesce(email, '-') || ':' || coalesce(api_token, '-'), ',' ORDER BY id) FROM customers)
  )::text AS f`;

async function fingerprint(client: pg.Client): Promise<string> {
  return (await client.query(FINGERPRINT_SQL)).rows[0].f as string;
}

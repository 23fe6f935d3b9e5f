import { loadModule, parseSync } from 'libpg-query';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgCatalog } from '../../../gateway/masking/catalog.ts';
import { createContentMasker } from '../../../gateway/content/detectors.ts';
import { compileMaskingConfig } from '../../../gateway/masking/masking-config.ts';
import {
  MASKING_DENIED_SQLSTATE,
  createMaskingSession,
  type MaskingSession,
} from '../../../gateway/masking/masking-session.ts';
import type { GateControl, StatementGate, StatementHandle } from '../../../gateway/postgres/statement-gate.ts';
import { createTestDatabase, type TestDatabase } from '../../support/pg-target.ts';
import { exampleMaskingConfig } from './masking-fixture.ts';

let db: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  await loadModule();
  db = await createTestDatabase();
  client = new pg.Client({ host: db.host, port: db.port, user: db.user, database: db.database });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await db?.drop();
});

function handleFor(sql: string): StatementHandle {
  return { statements: parseSync(sql).stmts!.map((s: { stmt?: unknown }) => ({ parseTree: s.stmt })) };
}

const control: GateControl = { notice() {}, signal: new AbortController().signal };

function session(denied: string[] = []): MaskingSession {
  const config = exampleMaskingConfig();
  return createMaskingSession({
    catalog: createPgCatalog(client),
    config,
    content: createContentMasker(config),
    onDeny: (_handle, reason) => denied.push(reason),
  });
}

function passGate(handle: StatementHandle): StatementGate {
  return { check: () => ({ forward: true, handle }), executed() {}, statementClosed() {}, close() {} };
}

describe('masking session', () => {
  it('forwards a statement it can mask and refuses one it cannot, telling the audit hook', async () => {
    const denied: string[] = [];
    const s = session(denied);
    const ok = await s
      .wrapGate(passGate(handleFor('SELECT email FROM customers')))
      .check({ kind: 'query', sql: '' }, control);
    expect(ok).toMatchObject({ forward: true });
    const refused = await s
      .wrapGate(passGate(handleFor('CREATE TABLE leak AS SELECT ssn FROM customers')))
      .check({ kind: 'query', sql: '' }, control);
    expect(refused).toMatchObject({ forward: false, code: MASKING_DENIED_SQLSTATE });
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatch(/copy masked data/);
  });

  it('needs no catalog when the connection has detectors but no column rules', async () => {
    const config = compileMaskingConfig([{ detectors: ['email'] }], 'app-db');
    // Reading the catalog's generation counter is local; any lookup on the target is not.
    const unreachable = new Proxy(
      {},
      {
        get: (_, key) => (key === 'generation' ? () => 0 : () => Promise.reject(new Error('catalog must not be used'))),
      },
    );
    const s = createMaskingSession({ catalog: unreachable as never, config, content: createContentMasker(config) });
    const handle = handleFor('SELECT email, id FROM customers');
    expect(await s.wrapGate(passGate(handle)).check({ kind: 'query', sql: '' }, control)).toMatchObject({
      forward: true,
    });
    const transform = await s.filter.describe(handle, 0, [
      {
        name: 'email',
        tableID: 99999,
        columnID: 3,
        dataTypeID: 25,
        dataTypeSize: -1,
        dataTypeModifier: -1,
        format: 'text',
      },
      {
        name: 'id',
        tableID: 99999,
        columnID: 1,
        dataTypeID: 23,
        dataTypeSize: 4,
        dataTypeModifier: -1,
        format: 'text',
      },
    ]);
    const cell = (v: string) => Buffer.concat([Buffer.from([0, 0, 0, v.length]), Buffer.from(v)]);
    const body = Buffer.concat([Buffer.from([0, 2]), cell('ada@engines.example.com'), cell('1')]);
    const row = Buffer.concat([Buffer.from([0x44, 0, 0, 0, 4 + body.length]), body]);
    expect(transform.transform(row).toString()).toContain('****');
    expect(transform.transform(row).toString()).not.toContain('ada@');
  });

  it('refuses the FunctionCall protocol message, whose result cannot be masked', async () => {
    const verdict = await session()
      .wrapGate(passGate(handleFor('SELECT 1')))
      .check({ kind: 'function-call', functionOid: 1 }, control);
    expect(verdict).toMatchObject({ forward: false, code: MASKING_DENIED_SQLSTATE });
  });

  it('masks every column of rows it cannot attribute to a planned statement', async () => {
    const transform = await session().filter.describe(undefined, 0, [
      { name: 'id', tableID: 0, columnID: 0, dataTypeID: 23, dataTypeSize: 4, dataTypeModifier: -1, format: 'text' },
    ]);
    const row = Buffer.from([0x44, 0, 0, 0, 11, 0, 1, 0, 0, 0, 1, 0x37]);
    expect(transform.transform(row).readInt32BE(7)).toBe(-1);
  });

  it('hides the text of a message raised inside a function while columns are masked', () => {
    const body = Buffer.from('SNOTICE\0C00000\0Mzq-7Hq2Lm9Xw4Pt\0WPL/pgSQL function leak() line 3 at RAISE\0\0');
    const frame = Buffer.concat([Buffer.from([0x4e, 0, 0, 0, 4 + body.length]), body]);
    const out = session().filter.maskMessage(frame);
    expect(out.toString()).not.toContain('zq-7Hq2Lm9Xw4Pt');
    expect(out.toString()).toContain('00000');
  });
});

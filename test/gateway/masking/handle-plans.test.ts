import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttackBed, type AttackBed } from '../../support/attack-bed.ts';
import { WireClient } from '../postgres/wire-client.ts';
import { findLeak, maskingCorpus } from './masking-fixture.ts';

/**
 * Masking class 7 (catalog drift) through the real gateway: statements after DDL in one batch,
 * prepared statements and SQL PREPAREs used after DDL, pipelined statements behind a pending
 * schema change, and materialized views filled through a view that is later replaced.
 */
const { sensitive } = maskingCorpus();
const SETUP = `
CREATE VIEW v AS SELECT 'harmless'::text AS t;
CREATE VIEW w AS SELECT 'harmless'::text AS t;
CREATE VIEW filled_through AS SELECT api_token AS t FROM customers;
CREATE MATERIALIZED VIEW kept AS SELECT t FROM filled_through;
`;

let bed: AttackBed;
beforeAll(async () => {
  bed = await startAttackBed({ policies: ['policies/default.yaml', 'policies/examples/masking.yaml'], setup: SETUP });
});
afterAll(async () => {
  await bed?.close();
});

describe('catalog drift (class 7)', () => {
  it('refuses a statement that follows a schema change in the same query, before anything runs', async () => {
    const before = await bed.fingerprint();
    const sql = "CREATE OR REPLACE VIEW v AS SELECT api_token || '' AS t FROM customers; SELECT t FROM v";
    const outcome = await bed.psql(sql);
    expect(outcome.ok).toBe(false);
    expect(outcome.output).toContain('follows a schema change in the same query');
    expect(findLeak(outcome.output, sensitive)).toBeNull();
    expect(await bed.fingerprint()).toBe(before);
  });

  it('still runs a migration of schema changes, constant inserts and transaction control in one query', async () => {
    const outcome = await bed.psql(
      'BEGIN; CREATE TABLE migrated (id int PRIMARY KEY, label text); CREATE INDEX ON migrated (label); INSERT INTO migrated VALUES (1, $$a$$), (2, $$b$$); COMMIT',
    );
    expect(outcome.ok, outcome.output).toBe(true);
    expect((await bed.psql("SELECT string_agg(label, ',' ORDER BY id) FROM migrated")).output.trim()).toBe('a,b');
  });

  it('plans a prepared statement again when it is bound after the view it reads was replaced', async () => {
    const client = new pg.Client({ connectionString: bed.gateway.url });
    await client.connect();
    try {
      const first = await client.query({ name: 'read_v', text: 'SELECT t FROM w' });
      expect(first.rows).toEqual([{ t: 'harmless' }]);
      await client.query("CREATE OR REPLACE VIEW w AS SELECT api_token || '' AS t FROM customers");
      const again = await client.query({ name: 'read_v', text: 'SELECT t FROM w' });
      expect(again.rows).toHaveLength(3);
      expect(findLeak(JSON.stringify(again.rows), sensitive), JSON.stringify(again.rows)).toBeNull();
    } finally {
      await client.end();
      await bed.psql("CREATE OR REPLACE VIEW w AS SELECT 'harmless'::text AS t");
    }
  });

  it('plans a SQL PREPARE again when it is executed after the view it reads was replaced', async () => {
    const client = new pg.Client({ connectionString: bed.gateway.url });
    await client.connect();
    try {
      await client.query('PREPARE q AS SELECT t FROM w');
      expect((await client.query('EXECUTE q')).rows).toEqual([{ t: 'harmless' }]);
      await client.query("CREATE OR REPLACE VIEW w AS SELECT api_token || '' AS t FROM customers");
      const rows = (await client.query('EXECUTE q')).rows;
      expect(rows).toHaveLength(3);
      expect(findLeak(JSON.stringify(rows), sensitive), JSON.stringify(rows)).toBeNull();
    } finally {
      await client.end();
      await bed.psql("CREATE OR REPLACE VIEW w AS SELECT 'harmless'::text AS t");
    }
  });

  it('refuses a query pipelined behind a schema change that has not finished', async () => {
    const wire = await WireClient.connect(bed.gateway.url);
    try {
      wire.send(
        serialize.query("CREATE OR REPLACE VIEW w AS SELECT api_token || '' AS t FROM customers"),
        serialize.query('SELECT t FROM w'),
      );
      const replies = [...(await wire.readyForQuery()), ...(await wire.readyForQuery())];
      const text = WireClient.text(replies);
      expect(findLeak(text, sensitive), text).toBeNull();
      expect(text).toContain('schema change sent earlier has not finished');
    } finally {
      wire.end();
      await bed.psql("CREATE OR REPLACE VIEW w AS SELECT 'harmless'::text AS t");
    }
  });

  it('refuses to replace a view a materialized view was filled through, which would relabel its rows', async () => {
    const before = await bed.fingerprint();
    const outcome = await bed.psql("CREATE OR REPLACE VIEW filled_through AS SELECT 'x'::text AS t");
    expect(outcome.ok).toBe(false);
    expect(outcome.output).toContain('materialized view public.kept');
    expect(await bed.fingerprint()).toBe(before);
    const read = await bed.psql('SELECT t FROM kept');
    expect(read.output.trim().split('\n')).toEqual(['****', '****', '****']);
  });
});

import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import Cursor from 'pg-cursor';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttackBed, type AttackBed } from '../../support/attack-bed.ts';

let bed: AttackBed;

beforeAll(async () => {
  bed = await startAttackBed({ policies: ['policies/default.yaml'] });
});
afterAll(async () => {
  await bed?.close();
});

async function withClient<T>(fn: (client: pg.Client) => Promise<T>, config: pg.ClientConfig = {}): Promise<T> {
  const client = new pg.Client({ connectionString: bed.gateway.url, ...config });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function collect(): { sink: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { sink, text: () => Buffer.concat(chunks).toString() };
}

describe('real client libraries through the gateway (default policy)', () => {
  it('reads a pg-cursor in batches inside a transaction', async () => {
    const batches = await withClient(async (client) => {
      await client.query('BEGIN');
      const cursor = client.query(new Cursor('SELECT g AS n FROM generate_series(1, 25) g ORDER BY g'));
      const sizes: number[] = [];
      for (;;) {
        const rows = await cursor.read(10);
        if (rows.length === 0) break;
        sizes.push(rows.length);
      }
      await cursor.close();
      await client.query('COMMIT');
      return sizes;
    });
    expect(batches).toEqual([10, 10, 5]);
  });

  it('streams COPY FROM STDIN and COPY TO STDOUT with pg-copy-streams, text and binary', async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => `${i}\tlabel-${i}\n`).join('');
    const copied = await withClient(async (client) => {
      await client.query('CREATE TEMP TABLE copied (id int, label text)');
      await pipeline(Readable.from([Buffer.from(rows)]), client.query(copyFrom('COPY copied FROM STDIN')));
      const out = collect();
      await pipeline(client.query(copyTo('COPY (SELECT * FROM copied ORDER BY id) TO STDOUT')), out.sink);
      const binary = collect();
      await pipeline(client.query(copyTo('COPY (SELECT id FROM copied WHERE id < 3) TO STDOUT BINARY')), binary.sink);
      return { text: out.text(), binary: binary.text() };
    });
    expect(copied.text).toBe(rows);
    expect(copied.binary.startsWith('PGCOPY\n')).toBe(true);
  });

  it('reports a failing COPY FROM STDIN as the server does and the connection goes on', async () => {
    const outcome = await withClient(async (client) => {
      await client.query('CREATE TEMP TABLE numbers (num int)');
      const failed = await pipeline(
        Readable.from([Buffer.from('1,2\n')]),
        client.query(copyFrom('COPY numbers FROM STDIN')),
      ).catch((error: pg.DatabaseError) => error.code);
      return { failed, after: (await client.query('SELECT 1 AS one')).rows[0].one };
    });
    expect(outcome).toEqual({ failed: '22P02', after: 1 });
  });

  it('answers node-postgres binary-format parameters and results exactly as the server does', async () => {
    const query = {
      text: 'SELECT $1::int4 + 1 AS next, $2::bytea AS raw, $3::text AS label',
      values: [41, Buffer.from([0, 1, 2, 255]), 'ü'],
    };
    const through = await withClient((client) => client.query(query), { binary: true } as pg.ClientConfig);
    const direct = new pg.Client({ ...bed.db, binary: true } as pg.ClientConfig);
    await direct.connect();
    const expected = await direct.query(query).finally(() => direct.end());
    expect(through.rows).toEqual(expected.rows);
    expect(through.fields.map((f) => [f.name, f.dataTypeID, f.format])).toEqual(
      expected.fields.map((f) => [f.name, f.dataTypeID, f.format]),
    );
  });

  it('pipelines postgres.js queries on one connection and keeps their answers in order', async () => {
    const sql = postgres(bed.gateway.url, { max: 1, onnotice: () => undefined });
    try {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => sql`SELECT ${i}::int AS i, name FROM customers WHERE id = ${(i % 3) + 1}`),
      );
      expect(answers.map((rows) => rows[0]!.i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      const inTransaction = await sql.begin(async (tx) => {
        await tx`UPDATE orders SET status = 'shipped' WHERE id = ${2}`;
        return tx`SELECT status FROM orders WHERE id = ${2}`;
      });
      expect(inTransaction[0]!.status).toBe('shipped');
    } finally {
      await sql.end();
    }
  });

  it('delivers postgres.js LISTEN notifications, its own included', async () => {
    const sql = postgres(bed.gateway.url, { max: 2, onnotice: () => undefined });
    try {
      const received = new Promise<string>((resolve) => {
        void sql.listen('deploys', (payload) => resolve(payload));
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      await sql.notify('deploys', 'v3');
      expect(await received).toBe('v3');
    } finally {
      await sql.end();
    }
  });
});

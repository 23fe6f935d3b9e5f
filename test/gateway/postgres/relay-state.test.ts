import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAttackBed, type AttackBed } from '../../support/attack-bed.ts';
import { findLeak, maskingCorpus } from '../masking/masking-fixture.ts';
import { WireClient, type WireMessage } from './wire-client.ts';

/**
 * Masking class 11 through the real gateway: the relay forgets portals and prepared statements
 * exactly when the server does, so a name the server gave new meaning is never masked as the old.
 */
const { sensitive } = maskingCorpus();
const HARMLESS = 'SELECT id::text AS v FROM customers';
const LEAKY = 'SELECT api_token AS v FROM customers';

let bed: AttackBed;
let wire: WireClient;
beforeAll(async () => {
  bed = await startAttackBed({ policies: ['policies/default.yaml', 'policies/examples/masking.yaml'] });
});
afterAll(async () => {
  await bed?.close();
});

async function session<T>(run: () => Promise<T>): Promise<T> {
  wire = await WireClient.connect(bed.gateway.url);
  try {
    return await run();
  } finally {
    wire.end();
  }
}

async function exchange(...messages: Buffer[]): Promise<WireMessage[]> {
  wire.send(...messages);
  return wire.readyForQuery();
}

function dataRows(messages: WireMessage[]): string[] {
  return messages.filter((m) => m.type === 'D').map((m) => m.body.subarray(6).toString('latin1'));
}

describe('portals and prepared statements tracked as the server tracks them (class 11)', () => {
  it('masks a SQL cursor opened under the name of a portal the implicit transaction already dropped', async () => {
    const text = await session(async () => {
      await exchange(
        serialize.parse({ name: 's1', text: HARMLESS }),
        serialize.bind({ statement: 's1', portal: 'p1' }),
        serialize.execute({ portal: 'p1', rows: 1 }),
        serialize.sync(),
      );
      await exchange(serialize.query(`BEGIN; DECLARE p1 CURSOR FOR ${LEAKY}`));
      const rows = await exchange(serialize.execute({ portal: 'p1' }), serialize.sync());
      await exchange(serialize.query('ROLLBACK'));
      return WireClient.text(rows);
    });
    expect(findLeak(text, sensitive), text).toBeNull();
    expect(text).toContain('****');
  });

  it('masks a cursor opened after COMMIT under the name of a portal the transaction had', async () => {
    const text = await session(async () => {
      await exchange(serialize.query('BEGIN'));
      await exchange(
        serialize.parse({ name: 's2', text: HARMLESS }),
        serialize.bind({ statement: 's2', portal: 'p2' }),
        serialize.sync(),
      );
      await exchange(serialize.query(`COMMIT; DECLARE p2 CURSOR WITH HOLD FOR ${LEAKY}`));
      const rows = await exchange(serialize.execute({ portal: 'p2' }), serialize.sync());
      await exchange(serialize.query('CLOSE p2'));
      return WireClient.text(rows);
    });
    expect(findLeak(text, sensitive), text).toBeNull();
  });

  it('masks a portal closed by SQL CLOSE ALL and opened again by DECLARE in the same transaction', async () => {
    const text = await session(async () => {
      await exchange(serialize.query('BEGIN'));
      await exchange(
        serialize.parse({ name: 's3', text: HARMLESS }),
        serialize.bind({ statement: 's3', portal: 'p3' }),
        serialize.sync(),
      );
      await exchange(serialize.query(`CLOSE ALL; DECLARE p3 CURSOR FOR ${LEAKY}`));
      const rows = await exchange(serialize.execute({ portal: 'p3' }), serialize.sync());
      await exchange(serialize.query('ROLLBACK'));
      return WireClient.text(rows);
    });
    expect(findLeak(text, sensitive), text).toBeNull();
  });

  it('refuses a SQL FETCH of a portal a protocol Bind opened under a cursor name used before', async () => {
    const text = await session(async () => {
      await exchange(serialize.query('BEGIN; DECLARE c4 CURSOR FOR SELECT 1; COMMIT'));
      await exchange(serialize.query('BEGIN'));
      await exchange(
        serialize.parse({ name: 's4', text: LEAKY }),
        serialize.bind({ statement: 's4', portal: 'c4' }),
        serialize.sync(),
      );
      const rows = await exchange(serialize.query('FETCH ALL FROM c4'));
      await exchange(serialize.query('ROLLBACK'));
      return WireClient.text(rows);
    });
    expect(findLeak(text, sensitive), text).toBeNull();
    expect(text).toContain('was not declared through the gateway');
  });

  it('binds a name SQL PREPARE gave new meaning after DEALLOCATE ALL as what it now is', async () => {
    const text = await session(async () => {
      await exchange(serialize.parse({ name: 's5', text: HARMLESS }), serialize.sync());
      await exchange(serialize.query(`DEALLOCATE ALL; PREPARE s5 AS ${LEAKY}`));
      const rows = await exchange(
        serialize.bind({ statement: 's5' }),
        serialize.describe({ type: 'P' }),
        serialize.execute({}),
        serialize.sync(),
      );
      return WireClient.text(rows);
    });
    expect(findLeak(text, sensitive), text).toBeNull();
  });

  it('still executes portals inside a transaction block across Syncs, masked as bound', async () => {
    const rows = await session(async () => {
      await exchange(serialize.query('BEGIN'));
      await exchange(
        serialize.parse({ name: 's6', text: 'SELECT name FROM customers ORDER BY id' }),
        serialize.bind({ statement: 's6', portal: 'p6' }),
        serialize.execute({ portal: 'p6', rows: 1 }),
        serialize.sync(),
      );
      const rest = await exchange(serialize.execute({ portal: 'p6' }), serialize.sync());
      await exchange(serialize.query('COMMIT'));
      return dataRows(rest);
    });
    expect(rows).toEqual(['Alan Turing', 'Grace Hopper']);
  });
});

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PGlite } from '@electric-sql/pglite';
import { sqlInteger, sqlLiteral } from '../../../gateway/store/sql-literal.ts';

let db: PGlite;
beforeAll(async () => {
  db = await PGlite.create('memory://');
});
afterAll(async () => {
  await db.close();
});

async function roundTrip(value: string): Promise<string> {
  const result = await db.exec(`SELECT ${sqlLiteral(value)} AS v`);
  return (result[0]!.rows[0] as { v: string }).v;
}

describe('sqlLiteral', () => {
  it('reads back exactly the string it was given, quotes, backslashes and all', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'binary' }).filter((s) => !s.includes('\0')),
        async (value) => {
          expect(await roundTrip(value)).toBe(value);
        },
      ),
      { numRuns: 200 },
    );
    for (const value of ["'; DROP TABLE audit_events; --", "\\'", "\\\\'", "''", "E'x'", '$$', '\\x27'])
      expect(await roundTrip(value)).toBe(value);
  });

  it('stays one literal when standard_conforming_strings is off', async () => {
    await db.exec('SET standard_conforming_strings = off');
    try {
      for (const value of ["a\\'b", '\\', "x'); SELECT 1; --"]) expect(await roundTrip(value)).toBe(value);
    } finally {
      await db.exec('SET standard_conforming_strings = on');
    }
  });

  it('refuses NUL and non-integers instead of sending them', () => {
    expect(() => sqlLiteral('a\0b')).toThrow(/NUL/);
    expect(() => sqlInteger(1.5)).toThrow(/not an integer/);
    expect(() => sqlInteger(Number.NaN)).toThrow(/not an integer/);
    expect(sqlInteger(42)).toBe('42');
  });
});

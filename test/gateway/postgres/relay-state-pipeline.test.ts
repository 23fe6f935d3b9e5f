import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { HARMLESS, LEAKY, useGuardedPostgres } from '../../support/guarded-postgres.ts';
import { findLeak, maskingCorpus } from '../masking/masking-fixture.ts';
import { WireClient } from './wire-client.ts';

const sensitive = maskingCorpus().sensitive;
const bed = useGuardedPostgres({ masking: true });
const wire = bed.wire;

describe('the relay follows prepared statements, portals and cursors the way the server does', () => {
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

  it('masks a portal with its own statement when a Describe of the portal it replaced is answered late', async () => {
    const client = await WireClient.connect(bed.gateway.url);
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
});

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { useGuardedPostgres } from '../../support/guarded-postgres.ts';

const bed = useGuardedPostgres({ masking: true });
const wire = bed.wire;
const run = promisify(execFile);

describe('the statement gate', () => {
  it('refuses a denied Bind even when the client prepared the name the gateway binds in its place', async () => {
    await run('psql', [bed.db.url, '-X', '-c', 'CREATE TABLE IF NOT EXISTS inbox (line text)']);
    const out = await wire(
      [
        serialize.parse({ name: '\u0001gatehouse-denied', text: "INSERT INTO inbox VALUES ('substitute ran')" }),
        serialize.sync(),
      ],
      [serialize.bind({ statement: 'never-prepared' }), serialize.execute({}), serialize.sync()],
    );
    expect(out).toContain('was not prepared through the gateway');
    const { stdout } = await run('psql', [
      bed.db.url,
      '-X',
      '-At',
      '-c',
      "SELECT count(*) FROM inbox WHERE line = 'substitute ran'",
    ]);
    expect(stdout.trim()).toBe('0');
  });
});

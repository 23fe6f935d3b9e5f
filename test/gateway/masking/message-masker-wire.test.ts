import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { useGuardedPostgres } from '../../support/guarded-postgres.ts';
import { findLeak, maskingCorpus } from './masking-fixture.ts';

const sensitive = maskingCorpus().sensitive;
const bed = useGuardedPostgres({ masking: true });
const wire = bed.wire;
const run = promisify(execFile);

describe('messages the server sends besides rows', () => {
  it('runs the detectors over a setting the server reports back (ParameterStatus)', async () => {
    await run('psql', [
      bed.db.url,
      '-X',
      '-c',
      "CREATE TABLE vault (secret text); INSERT INTO vault VALUES ('card 4111111111111111')",
    ]);
    const out = await wire([serialize.query("SELECT set_config('application_name', secret, false) FROM vault")]);
    expect(out).toMatch(/S:application_name/);
    expect(findLeak(out, sensitive), out).toBeNull();
  });
});

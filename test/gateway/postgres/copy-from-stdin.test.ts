import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { HARMLESS, LEAKY, useGuardedPostgres } from '../../support/guarded-postgres.ts';
import { findLeak, maskingCorpus } from '../masking/masking-fixture.ts';
import { WireClient } from './wire-client.ts';

const sensitive = maskingCorpus().sensitive;
const bed = useGuardedPostgres({ masking: true });
const run = promisify(execFile);

describe('COPY FROM STDIN through the relay', () => {
  it('keeps replies attributed after a Sync the target ignored during COPY FROM STDIN', async () => {
    await run('psql', [bed.db.url, '-X', '-c', 'CREATE TABLE IF NOT EXISTS inbox (line text)']);
    const client = await WireClient.connect(bed.gateway.url);
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
    await run('psql', [bed.db.url, '-X', '-c', 'CREATE TABLE IF NOT EXISTS inbox (line text)']);
    const client = await WireClient.connect(bed.gateway.url);
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
    await run('psql', [bed.db.url, '-X', '-c', 'CREATE TABLE IF NOT EXISTS inbox (line text)']);
    const client = await WireClient.connect(bed.gateway.url);
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
});

import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from 'vitest';
import { WireClient } from '../gateway/postgres/wire-client.ts';
import { startTestGateway, type GatewayUnderTest } from './gateway-harness.ts';
import { createTestDatabase, type TestDatabase } from './pg-target.ts';

const run = promisify(execFile);

/** A statement that leaks a masked column unless masking follows it, and a harmless one of the same shape. */
export const LEAKY = "SELECT api_token || '' AS x FROM customers";
export const HARMLESS = "SELECT 'abc'::text AS x FROM customers";

/** A whole gateway under the default policy (and, with `masking`, the example masking policy) in front of a test database. */
export interface GuardedPostgres {
  readonly db: TestDatabase;
  readonly gateway: GatewayUnderTest;
  /** Runs each SQL string as its own simple Query on one psql connection through the gateway; stdout+stderr. */
  psql(...queries: string[]): Promise<string>;
  /** Runs `steps` on one raw protocol connection; each step is sent and read up to its ReadyForQuery. */
  wire(...steps: Buffer[][]): Promise<string>;
}

/** Starts the database and gateway before the file's tests and drops them after. */
export function useGuardedPostgres(options: { masking: boolean }): GuardedPostgres {
  let db: TestDatabase | undefined;
  let gateway: GatewayUnderTest | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
    const policies = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-guarded-'));
    copyFileSync(path.resolve('policies/default.yaml'), path.join(policies, 'default.yaml'));
    if (options.masking)
      copyFileSync(path.resolve('policies/examples/masking.yaml'), path.join(policies, 'masking.yaml'));
    gateway = await startTestGateway(db, { policies });
  });
  afterAll(async () => {
    await gateway?.close();
    await db?.drop();
  });
  const bed: GuardedPostgres = {
    get db() {
      return db!;
    },
    get gateway() {
      return gateway!;
    },
    async psql(...queries) {
      const args = [gateway!.url, '-X', '-At', ...queries.flatMap((q) => ['-c', q])];
      return run('psql', args).then(
        ({ stdout, stderr }) => stdout + stderr,
        (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`,
      );
    },
    async wire(...steps) {
      const client = await WireClient.connect(gateway!.url);
      const seen: string[] = [];
      try {
        for (const step of steps) {
          client.send(...step);
          seen.push(WireClient.text(await client.readyForQuery()));
        }
      } finally {
        client.end();
      }
      return seen.join('\n');
    },
  };
  return bed;
}

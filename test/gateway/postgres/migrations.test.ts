import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalRecord } from '../../../gateway/store/store.ts';
import { startTestGateway, type GatewayUnderTest } from '../../support/gateway-harness.ts';
import { createTestDatabase, type TestDatabase } from '../../support/pg-target.ts';

const run = promisify(execFile);
const MIGRATE = path.resolve('node_modules/node-pg-migrate/bin/node-pg-migrate.js');
const MIGRATIONS = path.resolve('test/fixtures/migrations');

let viaGateway: TestDatabase;
let directly: TestDatabase;
let gateway: GatewayUnderTest;

beforeAll(async () => {
  [viaGateway, directly] = await Promise.all([createTestDatabase(''), createTestDatabase('')]);
  const policies = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-migrations-'));
  copyFileSync(path.resolve('policies/examples/migrations.yaml'), path.join(policies, 'migrations.yaml'));
  gateway = await startTestGateway(viaGateway, { policies });
});
afterAll(async () => {
  await gateway?.close();
  await Promise.all([viaGateway?.drop(), directly?.drop()]);
});

/** Runs node-pg-migrate's own CLI, unchanged, against `url`. */
async function migrate(url: string, ...args: string[]) {
  return run('node', [MIGRATE, ...args, '-m', MIGRATIONS, '--no-check-order'], {
    env: { ...process.env, DATABASE_URL: url },
    timeout: 60_000,
  });
}

/** Approves every approval the gateway requests until stopped; returns what reviewers were shown. */
function reviewer(on: GatewayUnderTest) {
  const seen: ApprovalRecord[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const pending of await on.store.listPendingApprovals()) {
        seen.push(pending);
        await on.broker.decide(pending.id, { approved: true, by: ['reviewer'] });
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  return {
    seen,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** The schema as pg_dump prints it, without the run-specific migration timestamps. */
async function schemaOf(db: TestDatabase): Promise<string> {
  const { stdout } = await run('pg_dump', ['--schema-only', '--no-owner', db.url]);
  return stdout.replace(/^(--|\\restrict |\\unrestrict ).*$/gm, '').replace(/\n{2,}/g, '\n');
}

describe('node-pg-migrate through the gateway under policies/examples/migrations.yaml', () => {
  it('runs up unchanged, holding the trigger function and the dropped column for review, to the schema a direct run makes', async () => {
    const review = reviewer(gateway);
    try {
      const up = await migrate(gateway.url, 'up');
      expect(up.stdout).toContain('Migrations complete!');
      await migrate(directly.url, 'up');
      expect(await schemaOf(viaGateway)).toBe(await schemaOf(directly));
      const held = review.seen.map((a) => a.rule);
      expect(held).toEqual(['review-opaque-code', 'review-drop-column']);
      // The reviewer saw the whole function, body included.
      expect(review.seen[0]!.statement).toContain('NEW.updated_at = now();');
      const direct = new pg.Client({ connectionString: viaGateway.url });
      await direct.connect();
      await direct.query("UPDATE accounts SET updated_at = 'epoch' WHERE id = 1");
      // The trigger replaced the 'epoch' the UPDATE wrote with now().
      const trigger = (
        await direct.query("SELECT updated_at > 'epoch'::timestamptz AS fired FROM accounts WHERE id = 1")
      ).rows;
      await direct.end();
      expect(trigger).toEqual([{ fired: true }]);
    } finally {
      await review.stop();
    }
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../gateway/config/load-config.ts';
import { startGateway, type RunningGateway } from '../../gateway/server/gateway.ts';
import type { TestDatabase } from './pg-target.ts';

export const STATIC_TOKEN = 'static-test-token-abcdefghijklmnop';

export interface GatewayUnderTest extends RunningGateway {
  /** psql/libpq URL of connection `app-db` through the native listener with the static token. */
  url: string;
  dir: string;
  logs: string[];
}

/**
 * Starts the whole gateway (store in memory, the given policy folder, one static token) in front
 * of `db` as connection `app-db`. `extraYaml` is appended to gatehouse.yaml.
 */
export async function startTestGateway(
  db: TestDatabase,
  options: { policies?: string; extraYaml?: string; store?: string } = {},
): Promise<GatewayUnderTest> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-gw-'));
  const file = path.join(dir, 'gatehouse.yaml');
  writeFileSync(
    file,
    [
      'listen: { http: "127.0.0.1:0", postgres: "127.0.0.1:0" }',
      `store: ${options.store ?? 'memory://'}`,
      `policies: ${options.policies ?? path.resolve('policies')}`,
      'issuers: [{ issuer: dev }]',
      'connections:',
      '  app-db:',
      '    type: postgres',
      `    url: ${db.url}`,
      'static_tokens:',
      `  - { name: ci, token: ${STATIC_TOKEN}, connections: [app-db], claims: { repository: acme/app, actor: ci-bot } }`,
      options.extraYaml ?? '',
    ].join('\n'),
  );
  const logs: string[] = [];
  const gateway = await startGateway(loadConfig(file), { log: (m) => logs.push(m) });
  return { ...gateway, dir, logs, url: `postgres://ci:${STATIC_TOKEN}@127.0.0.1:${gateway.postgresPort}/app-db` };
}

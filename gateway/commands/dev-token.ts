import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { loadConfig } from '../config/load-config.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { DEV_ISSUER_CONFIG_NAME, loadDevIssuerKey, mintDevToken } from '../identity/dev-issuer.ts';
import { systemClock } from '../identity/session-context.ts';
import { createStore } from '../store/create-store.ts';
import { findRunningGateway } from '../operator/operator-client.ts';
import { RESERVED_DEV_CLAIMS } from '../operator/operator-routes.ts';
import { OPERATOR_API_PATHS, type DevTokenResponse } from '../../wire/operator-api.ts';
import { parseCommandArgs } from './command-args.ts';

const USAGE = 'usage: gatehouse dev-token [--claims F] [--config gatehouse.yaml] [--gateway URL]';

/**
 * `gatehouse dev-token`: mints a GitHub-shaped JWT from the dev issuer's key; refused unless `issuer: dev`
 * is configured. Asks the running gateway (its embedded store is locked while it runs), else the store.
 */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    {
      args: argv,
      options: {
        claims: { type: 'string' },
        config: { type: 'string', default: 'gatehouse.yaml' },
        gateway: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    },
    USAGE,
    'dev-token.usage',
  );
  if (values.help) return (process.stdout.write(`${USAGE}\n`), 0);
  const config = loadConfig(values.config!);
  const dev = config.issuers.find((issuer) => issuer.issuer === DEV_ISSUER_CONFIG_NAME);
  if (!dev) {
    throw new GatehouseError(
      'dev-token.disabled',
      `${config.file} has no dev issuer; add '- issuer: dev' under issuers: (for local development only, never in production)`,
    );
  }
  const claims = values.claims === undefined ? {} : readClaims(values.claims);
  const gateway = await findRunningGateway(config, values.gateway);
  if (gateway) {
    const { token } = await gateway.post<DevTokenResponse>(OPERATOR_API_PATHS.devTokens, { claims });
    process.stdout.write(`${token}\n`);
    return 0;
  }
  const store = await createStore(config.store);
  try {
    const key = await loadDevIssuerKey(store);
    process.stdout.write(`${await mintDevToken(key, dev.audience ?? config.publicUrl, claims, systemClock)}\n`);
  } finally {
    await store.close();
  }
  return 0;
}

function readClaims(file: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = parse(readFileSync(file, 'utf8'));
  } catch {
    throw new GatehouseError(
      'dev-token.claims',
      `cannot read claims from ${file}; write a JSON or YAML object such as {"repository": "acme/app", "ref": "refs/heads/main"}`,
    );
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new GatehouseError(
      'dev-token.claims',
      `${file} must hold one object of claims, e.g. {"repository": "acme/app"}`,
    );
  }
  const reserved = RESERVED_DEV_CLAIMS.filter((name) => name in data);
  if (reserved.length > 0)
    throw new GatehouseError(
      'dev-token.claims',
      `${file} sets ${reserved.join(', ')}; the dev issuer sets those itself, remove them`,
    );
  return data as Record<string, unknown>;
}

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseDocument } from 'yaml';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { configSchema } from './config-schema.ts';
import { schemaDefaults } from './connection-type.ts';
import { CONNECTION_TYPES } from './connection-types.ts';
import { resolveStoreLocation, storeKind } from '../store/store-location.ts';
import { interpolateSecrets } from './interpolate.ts';
import { explainSchemaError, lineOfError } from './schema-errors.ts';
import type { AuditConfig, GatehouseConfig } from './config-types.ts';

const validate = new Ajv({ allErrors: true, useDefaults: true, strict: false }).compile(configSchema);

/** Loads, validates and completes gatehouse.yaml. Throws a GatehouseError naming file, line, key and fix. */
export function loadConfig(file: string): GatehouseConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new GatehouseError(
      'config.unreadable',
      `${file}: cannot read the config file; pass --config with an existing gatehouse.yaml`,
    );
  }
  return parseConfig(text, file);
}

/** Like {@link loadConfig} for text already in memory (tests, the demo). */
export function parseConfig(text: string, file: string): GatehouseConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const line = first.linePos?.[0]?.line;
    const source = line ? (text.split('\n')[line - 1] ?? '') : '';
    const hint = source.includes('${') ? '; quote a value that starts with ${...}, e.g. token: "${env:NAME}"' : '';
    throw new GatehouseError(
      'config.yaml',
      `${file}:${line ?? '?'}: not valid YAML: ${first.message.split('\n')[0]}${hint}`,
    );
  }
  const raw = doc.toJS() ?? {};
  const configDir = path.dirname(path.resolve(file));
  const data = interpolateSecrets(raw, configDir) as Record<string, unknown>;
  if (!validate(data)) {
    const messages = (validate.errors ?? []).filter(isUsefulError).map((error) => {
      const line = lineOfError(doc, lineCounter, error);
      return `${file}${line ? `:${line}` : ''}: ${error.instancePath || '/'} ${explainSchemaError(error, 'the gatehouse.yaml reference in README.md')}`;
    });
    throw new GatehouseError('config.invalid', [...new Set(messages)].join('\n'));
  }
  return toConfig(data as unknown as Validated, file, configDir);
}

function isUsefulError(error: ErrorObject): boolean {
  // oneOf failures repeat the branch errors; the branch messages say more.
  return error.keyword !== 'oneOf' && !(error.keyword === 'const' && error.instancePath.endsWith('/type'));
}

/** gatehouse.yaml after validation with defaults applied: the shape `config-schema.ts` guarantees. */
interface Validated {
  connections: Record<string, Record<string, unknown>>;
  listen: { http: string; postgres: string; ssh?: string; mysql?: string };
  public_url?: string;
  store: string;
  tls?: { cert: string; key: string };
  issuers: { issuer: string; audience?: string; jwks_uri?: string; jwks_file?: string }[];
  policies: string;
  static_tokens: GatehouseConfig['staticTokens'];
  limits: {
    max_message_bytes: number;
    max_statement_bytes: number;
    max_connections_per_session: number;
    authentication_timeout_seconds: number;
    max_unauthenticated_connections: number;
    max_unauthenticated_per_source: number;
  };
  audit: AuditSection;
  approvals: { notify_url?: string; secret?: string };
  operator?: { token?: string };
  app?: { app_id: string | number; private_key: string; webhook_secret: string; base_url?: string };
}

function toConfig(data: Validated, file: string, configDir: string): GatehouseConfig {
  const connections: GatehouseConfig['connections'] = {};
  for (const [name, given] of Object.entries(data.connections as Record<string, Record<string, unknown>>)) {
    const type = CONNECTION_TYPES.find((t) => t.type === given.type)!;
    connections[name] = type.toConfig(name, { ...schemaDefaults(type.schema), ...given });
  }
  return {
    file,
    listen: { http: data.listen.http, postgres: data.listen.postgres, ssh: data.listen.ssh, mysql: data.listen.mysql },
    publicUrl: data.public_url ?? `http://${data.listen.http}`,
    store: resolveStoreLocation(data.store, configDir),
    tls: data.tls,
    issuers: data.issuers.map((i) => ({
      issuer: i.issuer,
      audience: i.audience,
      jwksUri: i.jwks_uri,
      jwksFile: i.jwks_file && path.resolve(configDir, i.jwks_file),
    })),
    connections,
    policiesDir: path.resolve(configDir, data.policies),
    staticTokens: data.static_tokens,
    limits: {
      maxMessageBytes: data.limits.max_message_bytes,
      maxStatementBytes: data.limits.max_statement_bytes,
      maxConnectionsPerSession: data.limits.max_connections_per_session,
      authenticationTimeoutMs: Math.round(data.limits.authentication_timeout_seconds * 1000),
      maxUnauthenticated: data.limits.max_unauthenticated_connections,
      maxUnauthenticatedPerSource: data.limits.max_unauthenticated_per_source,
    },
    audit: auditConfig(data.audit, resolveStoreLocation(data.store, configDir), configDir),
    approvals: { notifyUrl: data.approvals.notify_url, secret: data.approvals.secret },
    operator: data.operator && { token: data.operator.token },
    app: data.app && {
      appId: String(data.app.app_id),
      privateKey: data.app.private_key,
      webhookSecret: data.app.webhook_secret,
      baseUrl: data.app.base_url,
    },
  };
}

/** gatehouse.yaml's `audit:` as validated, defaults applied. */
interface AuditSection {
  sample_rows: number;
  file?: string;
  webhook?: { url: string; secret: string };
  durability: AuditConfig['durability'];
  journal: { dir?: string; max_bytes: number };
  signing_key?: string;
  signing_key_file?: string;
}

/**
 * The journal and the signing key live in the gateway's data directory: the store's own for an
 * embedded store, `.gatehouse-audit/` beside gatehouse.yaml for a PostgreSQL one (set
 * `audit.journal.dir` per replica when several share a config), memory for `memory://`.
 */
function auditConfig(audit: AuditSection, store: string, configDir: string): AuditConfig {
  const kind = storeKind(store);
  const dataDir = kind === 'directory' ? store : kind === 'postgres' ? path.join(configDir, '.gatehouse-audit') : null;
  const at = (file: string | undefined, fallback: string): string | null =>
    file ? path.resolve(configDir, file) : dataDir && path.join(dataDir, fallback);
  return {
    sampleRows: audit.sample_rows,
    file: audit.file && path.resolve(configDir, audit.file),
    webhook: audit.webhook,
    durability: audit.durability,
    journal: { dir: at(audit.journal.dir, 'audit-journal'), maxBytes: audit.journal.max_bytes },
    signingKey: audit.signing_key,
    signingKeyFile: at(audit.signing_key_file, 'audit-signing-key.pem'),
  };
}

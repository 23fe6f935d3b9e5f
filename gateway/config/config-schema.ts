import { CONNECTION_TYPES } from './connection-types.ts';

/**
 * JSON Schema of gatehouse.yaml. Defaults live here and only here (ajv `useDefaults`), so the
 * loaded config object is complete and typed the same for every caller.
 */
const hostPort = {
  type: 'string',
  pattern: '^[^\\s:]*:\\d{1,5}$',
  description: 'host:port, e.g. 127.0.0.1:6432',
} as const;

export const configSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'gatehouse.yaml',
  type: 'object',
  additionalProperties: false,
  required: ['connections'],
  properties: {
    listen: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        http: { ...hostPort, default: '127.0.0.1:8080' },
        postgres: { ...hostPort, default: '127.0.0.1:6432' },
        ssh: hostPort,
        mysql: {
          ...hostPort,
          description:
            'Native MySQL listener (the database name picks the connection, the session token is the password)',
        },
      },
    },
    public_url: { type: 'string', description: 'URL clients and the GitHub App use to reach this gateway' },
    store: {
      type: 'string',
      default: './.gatehouse',
      description: 'Data directory (embedded PGlite) or postgres:// URL',
    },
    tls: {
      type: 'object',
      additionalProperties: false,
      required: ['cert', 'key'],
      properties: { cert: { type: 'string' }, key: { type: 'string' } },
      description: 'PEM certificate and key for client-side TLS (PostgreSQL SSLRequest, HTTPS)',
    },
    issuers: {
      type: 'array',
      default: [{ issuer: 'https://token.actions.githubusercontent.com' }],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['issuer'],
        properties: {
          issuer: { type: 'string', description: "Issuer URL, or 'dev' for the local dev issuer" },
          audience: { type: 'string' },
          jwks_uri: { type: 'string', description: 'Override of the JWKS location (GHES)' },
          jwks_file: { type: 'string', description: 'A static JWKS file, for gateways with no way out' },
        },
      },
    },
    connections: {
      type: 'object',
      minProperties: 1,
      additionalProperties: { oneOf: CONNECTION_TYPES.map((type) => type.schema) },
    },
    policies: { type: 'string', default: './policies', description: 'Folder of policy YAML files' },
    static_tokens: {
      type: 'array',
      default: [],
      description: 'Development stand-in for sessions: fixed tokens and the connections they open',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'token'],
        properties: {
          name: { type: 'string' },
          token: { type: 'string', minLength: 16 },
          connections: { type: 'array', items: { type: 'string' }, default: ['*'] },
          claims: { type: 'object', default: {} },
        },
      },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        max_message_bytes: { type: 'integer', minimum: 1024, default: 16 * 1024 * 1024 },
        max_statement_bytes: { type: 'integer', minimum: 1024, default: 1024 * 1024 },
        max_connections_per_session: {
          type: 'integer',
          minimum: 1,
          default: 16,
          description: 'Live connections one session may hold to targets (per protocol); more are refused',
        },
        authentication_timeout_seconds: {
          type: 'number',
          exclusiveMinimum: 0,
          default: 15,
          description: 'Time a client of a native listener has to log in (TLS, startup, password)',
        },
        max_unauthenticated_connections: {
          type: 'integer',
          minimum: 1,
          default: 256,
          description: 'Connections of a native listener still logging in, in total',
        },
        max_unauthenticated_per_source: {
          type: 'integer',
          minimum: 1,
          default: 64,
          description: 'Connections of a native listener still logging in, from one source address',
        },
      },
    },
    audit: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        sample_rows: { type: 'integer', minimum: 0, default: 5 },
        durability: {
          enum: ['write', 'fsync', 'store'],
          default: 'write',
          description:
            'When a statement may be forwarded: its event written to the local journal (write; survives a gateway crash), flushed to disk (fsync; survives power loss), or committed to the store (store)',
        },
        journal: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            dir: { type: 'string', description: "This gateway's own journal directory (one per replica)" },
            max_bytes: { type: 'integer', minimum: 65536, default: 64 * 1024 * 1024 },
          },
        },
        signing_key: {
          type: 'string',
          description: 'PEM Ed25519 private key, e.g. "${env:GATEHOUSE_AUDIT_SIGNING_KEY}"',
        },
        signing_key_file: { type: 'string', description: 'Ed25519 private key file, created on first start' },
        file: { type: 'string', description: 'JSON-lines export file' },
        webhook: {
          type: 'object',
          additionalProperties: false,
          required: ['url', 'secret'],
          properties: { url: { type: 'string' }, secret: { type: 'string' } },
        },
      },
    },
    approvals: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        notify_url: { type: 'string', description: 'Where approval requests are POSTed (the GitHub App)' },
        secret: { type: 'string', description: 'HMAC secret shared with the app' },
      },
    },
    operator: {
      type: 'object',
      additionalProperties: false,
      properties: {
        token: {
          type: 'string',
          minLength: 24,
          description:
            'Credential of the operator API (gatehouse approvals, dev-token beside a running gateway), e.g. ${env:GATEHOUSE_OPERATOR_TOKEN}; without it each serve makes its own and writes it, mode 0600, to its handle file',
        },
      },
    },
    app: {
      type: 'object',
      additionalProperties: false,
      required: ['app_id', 'private_key', 'webhook_secret'],
      properties: {
        app_id: { type: ['string', 'integer'] },
        private_key: { type: 'string' },
        webhook_secret: { type: 'string' },
        base_url: { type: 'string', description: 'GitHub API URL (GHES)' },
      },
    },
  },
} as const;

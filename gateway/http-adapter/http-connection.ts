import type { ConnectionType } from '../config/connection-type.ts';
import type { HttpConnectionConfig, HttpCredentialConfig } from '../config/config-types.ts';

const SECRET = 'use ${env:NAME} or ${file:PATH}';

function credentialVariant(type: string, fields: Record<string, string>) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['type', ...Object.keys(fields)],
    properties: {
      type: { const: type },
      ...Object.fromEntries(
        Object.entries(fields).map(([key, description]) => [key, { type: 'string', minLength: 1, description }]),
      ),
    },
  } as const;
}

/** `type: http` entries of gatehouse.yaml: an HTTP API whose credential only the gateway holds. */
export const httpConnectionType: ConnectionType<HttpConnectionConfig> = {
  type: 'http',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'url'],
    properties: {
      type: { const: 'http' },
      url: {
        type: 'string',
        pattern: '^https?://[^/?#\\s]+(/[^?#\\s]*)?$',
        description: 'The API: origin and base path, e.g. https://api.internal.example/v2 (no query)',
      },
      credential: {
        description: `What the gateway adds to every request (the job's own Authorization is dropped); values: ${SECRET}`,
        oneOf: [
          credentialVariant('bearer', { token: 'Sent as Authorization: Bearer <token>' }),
          credentialVariant('basic', { username: 'Basic auth user', password: 'Basic auth password' }),
          credentialVariant('header', { name: 'Header name, e.g. X-Api-Key', value: 'Header value' }),
          credentialVariant('query', { name: 'Query parameter name, e.g. api_key', value: 'Its value' }),
        ],
      },
      tls: {
        type: 'object',
        additionalProperties: false,
        description: 'TLS to an https target',
        properties: {
          ca: { type: 'string', description: 'PEM of the CA(s) that sign the target (default: the system store)' },
          cert: { type: 'string', description: 'PEM client certificate, for targets that want mTLS' },
          key: { type: 'string', description: `PEM key of the client certificate; ${SECRET}` },
          verify: {
            type: 'boolean',
            default: true,
            description: 'Verify the target certificate (false only for tests)',
          },
          servername: { type: 'string', description: 'Name to verify the certificate against, when not the URL host' },
        },
        dependencies: { cert: ['key'], key: ['cert'] },
      },
      response_timeout_seconds: {
        type: 'integer',
        minimum: 1,
        default: 300,
        description: 'How long the target may take to start its answer (504 after)',
      },
      max_body_bytes: {
        type: 'integer',
        minimum: 1024,
        default: 64 * 1024 * 1024,
        description: 'Largest request body forwarded (413 above)',
      },
      audit: { enum: ['required', 'best-effort'], default: 'required' },
    },
  },
  toConfig: (name, c) => {
    const tls = (c.tls ?? {}) as Partial<HttpConnectionConfig['tls']>;
    return {
      type: 'http',
      name,
      url: c.url as string,
      credential: (c.credential as HttpCredentialConfig | undefined) ?? { type: 'none' },
      tls: { ...tls, verify: tls.verify ?? true },
      responseTimeoutMs: (c.response_timeout_seconds as number) * 1000,
      maxBodyBytes: c.max_body_bytes as number,
      audit: c.audit as HttpConnectionConfig['audit'],
    };
  },
};

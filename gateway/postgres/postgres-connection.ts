import type { ConnectionType } from '../config/connection-type.ts';
import type { PostgresConnectionConfig } from '../config/config-types.ts';

/** `type: postgres` entries of gatehouse.yaml. */
export const postgresConnectionType: ConnectionType<PostgresConnectionConfig> = {
  type: 'postgres',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'url'],
    properties: {
      type: { const: 'postgres' },
      url: {
        type: 'string',
        pattern: '^postgres(ql)?://',
        description: 'Target server, postgres://user@host:port/db',
      },
      password: { type: 'string', description: 'Target password; use ${env:NAME} or ${file:PATH}' },
      sslmode: { enum: ['disable', 'require', 'verify-full'], default: 'disable' },
      ca: { type: 'string', description: 'PEM of the CA that signs the target certificate (verify-full)' },
      audit: { enum: ['required', 'best-effort'], default: 'required' },
    },
  },
  toConfig: (name, c) => ({
    type: 'postgres',
    name,
    url: c.url as string,
    password: c.password as string | undefined,
    sslmode: c.sslmode as PostgresConnectionConfig['sslmode'],
    ca: c.ca as string | undefined,
    audit: c.audit as PostgresConnectionConfig['audit'],
  }),
};

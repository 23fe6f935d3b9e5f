import type { ConnectionType } from '../config/connection-type.ts';
import type { MysqlConnectionConfig } from './mysql-config.ts';

/** `type: mysql` entries of gatehouse.yaml (MySQL and MariaDB targets). */
export const mysqlConnectionType: ConnectionType<MysqlConnectionConfig> = {
  type: 'mysql',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'url'],
    properties: {
      type: { const: 'mysql' },
      url: {
        type: 'string',
        pattern: '^(mysql|mariadb)://',
        description: 'Target server, mysql://user@host:port/database',
      },
      password: { type: 'string', description: 'Target password; use ${env:NAME} or ${file:PATH}' },
      sslmode: { enum: ['disable', 'require', 'verify-full'], default: 'disable' },
      ca: { type: 'string', description: 'PEM of the CA that signs the target certificate (verify-full)' },
      server_public_key: {
        type: 'string',
        description: "PEM of the server's RSA key, for caching_sha2_password full authentication without TLS",
      },
      audit: { enum: ['required', 'best-effort'], default: 'required' },
    },
  },
  toConfig: (name, c) => ({
    type: 'mysql',
    name,
    url: c.url as string,
    password: c.password as string | undefined,
    sslmode: c.sslmode as MysqlConnectionConfig['sslmode'],
    ca: c.ca as string | undefined,
    serverPublicKey: c.server_public_key as string | undefined,
    audit: c.audit as MysqlConnectionConfig['audit'],
  }),
};

import type { ConnectionType } from '../config/connection-type.ts';
import type { SshConnectionConfig } from '../config/config-types.ts';

/** `type: ssh` entries of gatehouse.yaml. */
export const sshConnectionType: ConnectionType<SshConnectionConfig> = {
  type: 'ssh',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'host', 'user', 'host_key'],
    properties: {
      type: { const: 'ssh' },
      host: { type: 'string' },
      port: { type: 'integer', minimum: 1, maximum: 65535, default: 22 },
      user: { type: 'string' },
      private_key: { type: 'string', description: 'PEM/OpenSSH private key; use ${file:PATH}' },
      password: { type: 'string' },
      host_key: {
        type: 'string',
        description: "The target's public host key (OpenSSH line) or its SHA256 fingerprint",
      },
      audit: { enum: ['required', 'best-effort'], default: 'required' },
    },
  },
  toConfig: (name, c) => ({
    type: 'ssh',
    name,
    host: c.host as string,
    port: c.port as number,
    user: c.user as string,
    privateKey: c.private_key as string | undefined,
    password: c.password as string | undefined,
    hostKey: c.host_key as string,
    audit: c.audit as SshConnectionConfig['audit'],
  }),
};

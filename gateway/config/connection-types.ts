import { postgresConnectionType } from '../postgres/postgres-connection.ts';
import { sshConnectionType } from '../ssh/ssh-connection.ts';
import type { ConnectionType } from './connection-type.ts';

/** Every connection type gatehouse.yaml accepts; a new adapter adds its piece here. */
export const CONNECTION_TYPES: readonly ConnectionType[] = [postgresConnectionType, sshConnectionType];

import { httpConnectionType } from '../http-adapter/http-connection.ts';
import { kubernetesConnectionType } from '../kubernetes/kubernetes-connection.ts';
import { mysqlConnectionType } from '../mysql/mysql-connection.ts';
import { postgresConnectionType } from '../postgres/postgres-connection.ts';
import { sshConnectionType } from '../ssh/ssh-connection.ts';
import type { ConnectionType } from './connection-type.ts';

/** Every connection type gatehouse.yaml accepts; a new adapter adds its piece here. */
export const CONNECTION_TYPES: readonly ConnectionType[] = [
  postgresConnectionType,
  sshConnectionType,
  httpConnectionType,
  mysqlConnectionType,
  kubernetesConnectionType,
];

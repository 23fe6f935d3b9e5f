import type { AuditMode } from '../config/config-types.ts';

/** A MySQL or MariaDB target; the gateway alone holds its credentials. */
export interface MysqlConnectionConfig {
  type: 'mysql';
  name: string;
  /** mysql://user@host:port/database */
  url: string;
  password?: string;
  /** TLS to the target: off, required (any certificate), or verified against `ca` and the host name. */
  sslmode: 'disable' | 'require' | 'verify-full';
  ca?: string;
  /**
   * PEM of the server's RSA public key for caching_sha2_password/sha256_password full
   * authentication without TLS. Absent: the key is requested from the server (trust on first use).
   */
  serverPublicKey?: string;
  audit: AuditMode;
}

/** The target's address and credentials, from the connection URL (the password from `password` first). */
export function mysqlTargetAddress(config: MysqlConnectionConfig): {
  host: string;
  port: number;
  user: string;
  database?: string;
  password: string;
} {
  const url = new URL(config.url);
  return {
    host: decodeURIComponent(url.hostname) || '127.0.0.1',
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username) || 'root',
    database: decodeURIComponent(url.pathname.slice(1)) || undefined,
    password: config.password ?? decodeURIComponent(url.password),
  };
}

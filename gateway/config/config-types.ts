import type { MysqlConnectionConfig } from '../mysql/mysql-config.ts';

/**
 * The loaded gatehouse.yaml: complete (defaults applied), secrets interpolated, paths absolute.
 * One typed object that every part of the gateway receives instead of reading files itself.
 */
export interface GatehouseConfig {
  file: string;
  listen: { http: string; postgres: string; ssh?: string; mysql?: string };
  publicUrl: string;
  /** Absolute data directory for embedded PGlite, or a postgres:// URL. */
  store: string;
  tls?: { cert: string; key: string };
  issuers: IssuerConfig[];
  connections: Record<string, ConnectionConfig>;
  policiesDir: string;
  staticTokens: StaticToken[];
  limits: LimitsConfig;
  audit: AuditConfig;
  approvals: { notifyUrl?: string; secret?: string };
  /** The operator API's credential; absent: `serve` makes one per process and writes it to its handle file. */
  operator?: { token?: string };
  app?: { appId: string; privateKey: string; webhookSecret: string; baseUrl?: string };
}

/** gatehouse.yaml `limits:`: what one message, statement, session or unauthenticated client may take. */
export interface LimitsConfig {
  maxMessageBytes: number;
  maxStatementBytes: number;
  /** Live target connections of one session, per protocol (a job cannot take all of a target's connections). */
  maxConnectionsPerSession: number;
  /** Time from accept to a verified credential on a native listener. */
  authenticationTimeoutMs: number;
  /** Native-listener connections still logging in: in total, and from one source address. */
  maxUnauthenticated: number;
  maxUnauthenticatedPerSource: number;
}

/**
 * When a statement's audit event "exists" so the statement may be forwarded: written to the
 * gateway's journal (`write`, survives the process dying), flushed to disk (`fsync`, survives
 * power loss), or committed to the store (`store`, survives losing the gateway host).
 */
export type AuditDurability = 'write' | 'fsync' | 'store';

/** gatehouse.yaml `audit:`, with the journal and key locations resolved (see `load-config.ts`). */
export interface AuditConfig {
  sampleRows: number;
  file?: string;
  webhook?: { url: string; secret: string };
  durability: AuditDurability;
  /** `dir` null: the journal is kept in memory (a `memory://` store, which dies with the process too). */
  journal: { dir: string | null; maxBytes: number };
  /** PEM of the private signing key (an environment secret); wins over `signingKeyFile`. */
  signingKey?: string;
  /** The private signing key's file; null: a key for this process only (memory store). */
  signingKeyFile: string | null;
}

/** A trusted OIDC issuer; tokens from any other issuer are refused before their signature is even fetched. */
export interface IssuerConfig {
  /** Issuer URL, or `dev` for the local dev issuer whose key is kept in the store. */
  issuer: string;
  audience?: string;
  jwksUri?: string;
  jwksFile?: string;
}

/** Whether a connection refuses commands when the audit log cannot be written (`required`, the default) or runs them anyway. */
export type AuditMode = 'required' | 'best-effort';

/** A PostgreSQL target; the gateway alone holds its credentials. */
export interface PostgresConnectionConfig {
  type: 'postgres';
  name: string;
  url: string;
  password?: string;
  sslmode: 'disable' | 'require' | 'verify-full';
  ca?: string;
  audit: AuditMode;
}

/** An SSH target; the gateway alone holds its key, and pins the target's host key so it is never trusted on first use. */
export interface SshConnectionConfig {
  type: 'ssh';
  name: string;
  host: string;
  port: number;
  user: string;
  privateKey?: string;
  password?: string;
  /** Pinned target host key: an OpenSSH public key line or `SHA256:...` fingerprint. */
  hostKey: string;
  audit: AuditMode;
}

/**
 * The credential the gateway adds to every request of an HTTP connection (the job never holds it):
 * a bearer token, basic auth, a named header or a query parameter.
 */
export type HttpCredentialConfig =
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'header'; name: string; value: string }
  | { type: 'query'; name: string; value: string }
  | { type: 'none' };

/** An HTTP API; the gateway holds its credential and, with `tls`, the CA and client certificate it is reached with. */
export interface HttpConnectionConfig {
  type: 'http';
  name: string;
  /** Origin and base path, e.g. `https://api.internal.example/v2`. */
  url: string;
  credential: HttpCredentialConfig;
  tls: { ca?: string; cert?: string; key?: string; verify: boolean; servername?: string };
  /** How long the target may take to start answering (long polls and held requests aside). */
  responseTimeoutMs: number;
  /** Largest request body forwarded. */
  maxBodyBytes: number;
  audit: AuditMode;
}

/**
 * A Kubernetes API server; the gateway alone holds the credential (a bearer token, a client
 * certificate, or the service account of the pod it runs in) and verifies the server's CA.
 */
export interface KubernetesConnectionConfig {
  type: 'kubernetes';
  name: string;
  /** `https://host:port`; absent with `inCluster` (KUBERNETES_SERVICE_HOST/PORT are used). */
  url?: string;
  /** PEM of the CA the server's certificate must chain to; absent: the system CAs (or the in-cluster ca.crt). */
  ca?: string;
  token?: string;
  clientCertificate?: string;
  clientKey?: string;
  inCluster: boolean;
  /** The namespace the job's KUBECONFIG context defaults to. */
  namespace?: string;
  audit: AuditMode;
}

/** Any configured connection; `type` picks the adapter that serves it. */
export type ConnectionConfig =
  | PostgresConnectionConfig
  | SshConnectionConfig
  | HttpConnectionConfig
  | MysqlConnectionConfig
  | KubernetesConnectionConfig;

/** Development stand-in for OIDC sessions: a fixed bearer token. */
export interface StaticToken {
  name: string;
  token: string;
  connections: string[];
  claims: Record<string, unknown>;
}

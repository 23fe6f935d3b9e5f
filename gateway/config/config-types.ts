/**
 * The loaded gatehouse.yaml: complete (defaults applied), secrets interpolated, paths absolute.
 * One typed object that every part of the gateway receives instead of reading files itself.
 */
export interface GatehouseConfig {
  file: string;
  listen: { http: string; postgres: string; ssh?: string };
  publicUrl: string;
  /** Absolute data directory for embedded PGlite, or a postgres:// URL. */
  store: string;
  tls?: { cert: string; key: string };
  issuers: IssuerConfig[];
  connections: Record<string, ConnectionConfig>;
  policiesDir: string;
  staticTokens: StaticToken[];
  limits: { maxMessageBytes: number; maxStatementBytes: number };
  audit: { sampleRows: number; file?: string; webhook?: { url: string; secret: string } };
  approvals: { notifyUrl?: string; secret?: string };
  app?: { appId: string; privateKey: string; webhookSecret: string; baseUrl?: string };
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
export type ConnectionConfig = PostgresConnectionConfig | SshConnectionConfig | KubernetesConnectionConfig;

/** Development stand-in for OIDC sessions: a fixed bearer token. */
export interface StaticToken {
  name: string;
  token: string;
  connections: string[];
  claims: Record<string, unknown>;
}

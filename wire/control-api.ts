/**
 * Wire types of the gateway's HTTP control API, shared by the gateway, `gatehouse connect` and the
 * Action bundle. They live apart from either side so neither imports the other's internals.
 */

/** Body of `POST /v1/sessions`: the job's OIDC token plus an optional narrowing of the grant. */
export interface CreateSessionRequest {
  token: string;
  /** Connection names wanted; defaults to every connection the matching identity rule grants. */
  connections?: string[];
  /** Requested lifetime such as `15m`; the gateway caps it at the rule's `max_ttl`. */
  ttl?: string;
}

/** One connection a session may open, with what a client needs to reach it through the tunnel. */
export interface ConnectionGrant {
  name: string;
  type: 'postgres' | 'ssh' | 'http' | 'mysql' | 'kubernetes';
  /** Path of the WebSocket tunnel for this connection, relative to the gateway URL. */
  tunnel: string;
  /** Kubernetes only: the connection's default namespace, for the KUBECONFIG context. */
  namespace?: string;
}

/** Answer of `POST /v1/sessions`: the opaque session token is shown exactly once, here. */
export interface SessionGrant {
  id: string;
  token: string;
  /** RFC 3339 timestamp. */
  expires_at: string;
  connections: ConnectionGrant[];
}

/** Answer of `GET /v1/sessions/:id`: never carries the token. */
export interface SessionInfo {
  id: string;
  identity_rule: string;
  created_at: string;
  expires_at: string;
  ended_at: string | null;
  end_reason: string | null;
  connections: ConnectionGrant[];
  /** Binding of the session: repository, run_id, run_attempt, sha, ref, actor, ... */
  claims: Record<string, unknown>;
}

/** Answer of `DELETE /v1/sessions/:id` (the Action's disconnect step). */
export interface SessionEnded {
  id: string;
  ended: true;
  end_reason: string;
  /**
   * The session's final audit hash (see `SessionLog.final_hash`), for the job summary: null when the
   * chains of other replicas were not all sealed in time (the audit check run carries it then).
   */
  final_hash: string | null;
}

/** One identity rule that was tried during a denied exchange, with the names of claims that failed. */
export interface RuleMismatch {
  rule: string;
  failed_claims: string[];
}

/** Every 4xx/5xx body of the control API. `code` is stable; `message` names the problem and the fix. */
export interface ErrorBody {
  error: {
    code: string;
    message: string;
    hint?: string;
    rules?: RuleMismatch[];
  };
}

/** Answer of `GET /v1/version`. */
export interface VersionInfo {
  version: string;
}

/**
 * Body of `POST /v1/sessions/:id/ssh-keys` (bearer: that session's token): the public half of the
 * ephemeral key `gatehouse connect` generated, so only that process can use the session's SSH tunnel.
 */
export interface RegisterSshKeyRequest {
  /** OpenSSH public key line, e.g. `ssh-ed25519 AAAA...`. */
  public_key: string;
}

/** Answer of `POST /v1/sessions/:id/ssh-keys`: what the client pins so ssh never trusts on first use. */
export interface SshKeyRegistration {
  /** SHA256 fingerprint of the registered key. */
  fingerprint: string;
  /** The gateway's SSH host key (OpenSSH line) for known_hosts, and its fingerprint. */
  host_key: string;
  host_key_fingerprint: string;
}

/** Paths of the control API, shared so clients and the server cannot drift apart. */
export const CONTROL_API_PATHS = {
  sessions: '/v1/sessions',
  version: '/v1/version',
  tunnelPrefix: '/v1/tunnel/',
  healthz: '/healthz',
  metrics: '/metrics',
  /** The gateway's own `gatehouse connect` bundle, which the action downloads and caches. */
  clientBundle: '/v1/client/connect.mjs',
} as const;

/** Prefix of every gateway session token, so secret scanners and humans recognise one. */
export const SESSION_TOKEN_PREFIX = 'gwh_' as const;

/** One local listener of `gatehouse connect`, as announced in its ready line. */
export interface LocalConnection {
  name: string;
  type: 'postgres' | 'ssh' | 'http' | 'mysql' | 'kubernetes';
  host: string;
  port: number;
  /** PostgreSQL: a libpq URL; MySQL: a mysql:// URL (both with the per-session local password). HTTP: the base URL (`http://127.0.0.1:<port>`), no secret in it. */
  url?: string;
  user?: string;
  /** The per-session local password (PostgreSQL), or the token HTTP clients send as `Authorization: Bearer`. */
  password?: string;
  database?: string;
  /** SSH only: the ephemeral private key registered with the session (for `IdentityFile`). */
  identity_file?: string;
  /** SSH only: known_hosts lines pinning the gateway's host key under the connection name (for `HostKeyAlias`). */
  known_hosts?: string[];
  /** Kubernetes only: the namespace the KUBECONFIG context defaults to (the local password is `password`). */
  namespace?: string;
  /** Kubernetes only: PEM of the CA the local proxy made for its TLS listener (the KUBECONFIG pins it). */
  ca?: string;
}

/** The single JSON line `gatehouse connect` prints on stdout once every listener is up. */
export interface ConnectReadyLine {
  session_id: string;
  expires_at: string;
  connections: LocalConnection[];
}

/**
 * The protocol-neutral vocabulary between adapters and the policy engine.
 *
 * Adapters (PostgreSQL, SSH, ...) translate their wire protocol into an {@link Action};
 * the engine answers with a {@link Decision}. Keeping both as plain values means the engine
 * stays pure and synchronous and every adapter enforces decisions in its own protocol's terms.
 */

/** Who is acting: the verified OIDC claims of the session (or a static token's name in dev). */
export interface Identity {
  /** Session id, for audit correlation. */
  sessionId: string;
  /** Claims snapshot (GitHub OIDC claim names: repository, ref, sha, actor, run_id, ...). */
  claims: Readonly<Record<string, unknown>>;
  /** Name of the identity rule that granted the session. */
  identityRule?: string;
}

export const DECISION_ACTIONS = ['allow', 'deny', 'review'] as const;
/**
 * What happens to a command. Masking is not a decision: no rule chooses it; it applies to what an
 * allowed command returns, from the policy's `masking:` sections (content detectors for every
 * protocol, column provenance for SQL), so a rule cannot switch it off by allowing.
 */
export type DecisionAction = (typeof DECISION_ACTIONS)[number];

/** Settings of a `review` decision: how long to hold and who may approve. */
export interface ReviewSettings {
  timeoutSeconds: number;
  /** Minimum repository permission of an approver (GitHub: read < triage < write < maintain < admin). */
  minPermission: 'read' | 'triage' | 'write' | 'maintain' | 'admin';
  /** Teams ("org/team-slug") whose members may approve regardless of permission. */
  teams: readonly string[];
  /** Number of distinct approvers needed. */
  approvals: number;
  /** When set, an approval opens a window of this many seconds for the rest of the session. */
  windowSeconds?: number;
}

/** The engine's answer: always carries the rule that decided and a human reason. */
export interface Decision {
  action: DecisionAction;
  /** Name of the rule that decided, or `default-deny` when none matched. */
  rule: string;
  reason: string;
  review?: ReviewSettings;
}

import type { K8sFacts } from '../kubernetes/k8s-facts.ts';
import type { StatementAnalysis } from '../sql/statement-analysis.ts';
import type { WriteEstimates } from './blast-limits.ts';

interface ActionBase {
  /** Connection name from gatehouse.yaml. */
  connection: string;
  identity: Identity;
}

/** One client round trip of SQL: a simple Query (maybe several statements) or an extended Parse. */
export interface PgQueryAction extends ActionBase {
  type: 'pg.query';
  via: 'simple' | 'extended';
  sql: string;
  statements: readonly StatementAnalysis[];
  /** The target's estimates of the writes, fetched by the adapter when a `limits:` bound on writes applies. */
  writeEstimates?: WriteEstimates;
  /** Set when the adapter asks whether a result may go on past a read bound it counted while streaming. */
  readOverBound?: { limit: string; reason: string };
}

/**
 * One MySQL/MariaDB command carrying SQL: a COM_QUERY (maybe several statements), a prepare, or an
 * execute of a statement prepared through the gateway. The statements have PostgreSQL's facts, so
 * one policy language serves both.
 */
export interface MysqlQueryAction extends ActionBase {
  type: 'mysql.query';
  via: 'text' | 'prepared';
  sql: string;
  statements: readonly StatementAnalysis[];
}

/** The protocol-level FunctionCall message: never analysable, so it has its own action. */
export interface PgFunctionCallAction extends ActionBase {
  type: 'pg.function-call';
  functionOid: number;
}

export interface SshExecAction extends ActionBase {
  type: 'ssh.exec';
  command: string;
  /** The command split into words as a POSIX shell would; null when it cannot be split safely. */
  argv: readonly string[] | null;
}
export interface SshShellAction extends ActionBase {
  type: 'ssh.shell';
}
export interface SshSubsystemAction extends ActionBase {
  type: 'ssh.subsystem';
  name: string;
}
export interface SshForwardAction extends ActionBase {
  type: 'ssh.forward';
  kind: 'local' | 'remote' | 'agent' | 'x11';
  host?: string;
  port?: number;
}
export interface SshEnvAction extends ActionBase {
  type: 'ssh.env';
  name: string;
  value: string;
}

/**
 * What a request's body tells policy: nothing (no body), its JSON value, or that it could not be
 * read as JSON (another content type, too large, compressed, invalid, or a repeated key), which
 * only a deny rule's body facts treat as matching.
 */
export type HttpBodyFacts =
  { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'unreadable'; reason: string };

/** One HTTP request (or WebSocket upgrade) to an `http` connection, after the adapter checked and canonicalised it. */
export interface HttpRequestAction extends ActionBase {
  type: 'http.request';
  /** Upper-case method. */
  method: string;
  /** Decoded path, `/` + segments; no segment holds `/`, `\` or is a dot segment. */
  path: string;
  /** Decoded query keys, in order, repeats kept. */
  queryKeys: readonly string[];
  /** Media type of the request body, lower-case, without parameters; null when none was sent. */
  contentType: string | null;
  body: HttpBodyFacts;
  /** `websocket` for an upgrade request. */
  upgrade: 'websocket' | null;
}

/**
 * One Kubernetes API request, with the facts the API server itself derives from it (RequestInfo,
 * pod-spec settings of the body, exec argv, markers such as exec or impersonate). `discovery` marks
 * the version, discovery and OpenAPI reads kubectl cannot start without.
 */
export interface K8sRequestAction extends ActionBase {
  type: 'k8s.request';
  facts: K8sFacts;
  discovery: boolean;
}

/** Everything an adapter can ask the engine about. */
export type Action =
  | PgQueryAction
  | MysqlQueryAction
  | PgFunctionCallAction
  | SshExecAction
  | SshShellAction
  | SshSubsystemAction
  | SshForwardAction
  | SshEnvAction
  | HttpRequestAction
  | K8sRequestAction;

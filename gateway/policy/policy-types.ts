import type { StatementFlag, StatementKind } from '../sql/statement-analysis.ts';
import type { HttpWhen } from '../http-adapter/http-when.ts';
import type { K8sWhen } from '../kubernetes/k8s-when.ts';
import type { DecisionAction, ReviewSettings } from './types.ts';

/**
 * The loaded policy: every YAML file of the policy folder, validated against
 * `policies/policy.schema.json` and combined in file-name order. One typed object, so adapters,
 * the identity service and masking never read policy files themselves.
 */
export interface Policy {
  /** Files the policy was read from, in the order they were combined. */
  files: readonly string[];
  /** `identities:` entries as written (the identity service compiles and matches them). */
  identities: readonly IdentityRuleSpec[];
  /** `rules:` entries, compiled: defaults applied, durations in seconds. */
  rules: readonly PolicyRule[];
  /** `masking:` entries as written (the masking engine compiles them per connection). */
  masking: readonly MaskingSection[];
}

/** An `identities:` entry: who may open a session and for which connections. */
export interface IdentityRuleSpec {
  name: string;
  /** Claim name → exact value, glob (has * ? [) or "/anchored regex/". AND across claims. */
  claims?: Record<string, string | number | boolean>;
  repository_id?: string | number;
  repository_owner_id?: string | number;
  connections?: string[];
  max_ttl?: string;
  allow_self_hosted?: boolean;
  allow_pull_request_target?: boolean;
}

/** A `masking:` entry: which columns are masked and which content detectors run. */
export interface MaskingSection {
  connections?: string[];
  columns?: { column: string; keep_last?: number }[];
  detectors?: string[];
  custom_detectors?: { name: string; pattern: string }[];
  /** HTTP: JSON paths of response fields to replace. */
  fields?: { path: string; keep_last?: number }[];
  /** HTTP: media-type globs passed unmasked (binary bodies are refused otherwise). */
  pass_content_types?: string[];
  predicates?: 'deny' | 'confirm';
}

export const SSH_ACTION_TYPES = ['exec', 'shell', 'subsystem', 'forward', 'env'] as const;
export type SshActionType = (typeof SSH_ACTION_TYPES)[number];
export const SSH_FORWARD_KINDS = ['local', 'remote', 'agent', 'x11'] as const;
export type SshForwardKind = (typeof SSH_FORWARD_KINDS)[number];

/** SSH facts a rule can test. Lists are "any of"; keys are ANDed. */
export interface SshWhen {
  type?: SshActionType[];
  /** Globs on argv[0] of an exec (its base name or its full path). */
  program?: string[];
  /** Globs on the whole exec command line. */
  command?: string[];
  subsystem?: string[];
  forward?: SshForwardKind[];
  /** Globs on the variable name of an env request. */
  env?: string[];
}

/**
 * The facts a rule tests, as written in YAML (snake_case). Lists are "any of"; keys are ANDed;
 * a rule with no `when` matches every action it can analyse.
 */
export interface RuleWhen {
  kind?: StatementKind[];
  /** Globs on the command tag, case-insensitive: "DROP *", "TRUNCATE". */
  command?: string[];
  /** Globs on any table read or written. Unqualified patterns also match schema-qualified names. */
  tables?: string[];
  tables_read?: string[];
  tables_written?: string[];
  /** Matches when any called function matches one of these globs. */
  functions?: string[];
  /** Matches when every called function matches one of these globs (vacuously true with no calls). */
  only_functions?: string[];
  /** Matches when any of these flags is set. */
  flags?: StatementFlag[];
  /** Matches when none of these flags is set. */
  without_flags?: StatementFlag[];
  ssh?: SshWhen;
  http?: HttpWhen;
  k8s?: K8sWhen;
}

/** A compiled `rules:` entry. */
export interface PolicyRule {
  name: string;
  /** File and line the rule came from, for messages and `policy explain`. */
  source: { file: string; line?: number };
  /** Connection-name globs; ["*"] when omitted. */
  connections: string[];
  /** Identity-rule names (globs) this rule applies to; undefined = any identity. */
  identities?: string[];
  /** Claim tests like identity rules use; undefined = any claims. */
  claims?: Record<string, string>;
  when: RuleWhen;
  action: DecisionAction;
  reason: string;
  /** Present when `action` is review: the rule's review settings with defaults applied. */
  review?: ReviewSettings;
}

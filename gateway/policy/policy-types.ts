import type { HttpWhen } from '../http-adapter/http-when.ts';
import type { DecisionAction, ReviewSettings } from './actions-and-decisions.ts';
import type { SqlWhen } from './facts/sql-namespace.ts';
import type { SshWhen } from './facts/ssh-namespace.ts';
import type { BlastLimit } from './blast-limits.ts';
import type { K8sWhen } from '../kubernetes/k8s-when.ts';

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
  /** `limits:` entries, compiled: how much a job may read or change (absent in policies built by hand). */
  limits?: readonly BlastLimit[];
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

/**
 * The facts a rule tests, as written in YAML (snake_case): each protocol's facts under its
 * namespace (`sql`, `ssh`, `http`), SQL's also at the top level (the original form). Lists are
 * "any of"; keys are ANDed; a rule with no `when` matches every action it can analyse. Each
 * namespace is compiled by its file in `facts/`.
 */
export interface RuleWhen extends SqlWhen {
  sql?: SqlWhen;
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

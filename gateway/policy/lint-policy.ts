import { GatehouseError } from '../errors/gatehouse-error.ts';
import { compileGlobs, isCatchAll } from './glob.ts';
import { namespacesNamedBy } from './facts/fact-namespace.ts';
import { FACT_NAMESPACES } from './facts/namespaces.ts';
import { sqlKindsOf, sqlWhensOf, type SqlWhen } from './facts/sql-namespace.ts';
import type { Policy, PolicyRule } from './policy-types.ts';

/**
 * A problem `gatehouse policy check` reports beyond schema errors. Errors are rules that cannot
 * work as written (they never match, or name things that do not exist); warnings are rules that
 * work but grant more than their author probably meant.
 */
export interface LintFinding {
  severity: 'error' | 'warning';
  /** file:line of a rule, or the identity/masking entry. */
  where: string;
  message: string;
  /**
   * The finding means a deny, a review or a masking section does not apply where its author meant
   * it to (a connection renamed, a rule that never matches): `gatehouse serve` refuses to start.
   */
  weakens: boolean;
}

export interface LintOptions {
  /** Connection names from gatehouse.yaml; when given, unknown connection names are errors. */
  connections?: readonly string[];
}

const GLOB_CHARS = /[*?[]/;
const REPOSITORY_PINS = ['repository', 'repository_owner', 'sub'];

function whereOf(rule: PolicyRule): string {
  return `${rule.source.file}${rule.source.line ? `:${rule.source.line}` : ''} rule '${rule.name}'`;
}

export function lintPolicy(policy: Policy, options: LintOptions = {}): LintFinding[] {
  const findings: LintFinding[] = [];
  const add = (severity: LintFinding['severity'], where: string, message: string, weakens = false) =>
    findings.push({ severity, where, message, weakens });

  /** `restricts`: the entry denies, holds or masks, so missing its connection weakens enforcement. */
  const checkConnections = (patterns: readonly string[] | undefined, where: string, restricts: boolean) => {
    if (!options.connections || !patterns) return;
    const known = options.connections;
    for (const pattern of patterns) {
      if (!GLOB_CHARS.test(pattern)) {
        if (!known.includes(pattern))
          add(
            'error',
            where,
            `connection '${pattern}' is not defined in gatehouse.yaml (known: ${known.join(', ') || 'none'}); fix the name or add the connection`,
            restricts,
          );
      } else if (!known.some(compileGlobs([pattern]))) {
        add('warning', where, `connection pattern '${pattern}' matches no connection in gatehouse.yaml`, restricts);
      }
    }
  };

  const identityNames = policy.identities.map((i) => i.name);
  for (const rule of policy.rules) {
    const where = whereOf(rule);
    const restricts = rule.action !== 'allow';
    checkConnections(rule.connections, where, restricts);
    lintNeverMatches(rule, identityNames, (message) => add('error', where, message, restricts));
    lintOverBroad(rule, (message) => add('warning', where, message));
  }

  for (const identity of policy.identities) {
    const where = `identity '${identity.name}'`;
    checkConnections(identity.connections, where, false);
    const claims = identity.claims ?? {};
    const pinned =
      identity.repository_id !== undefined ||
      identity.repository_owner_id !== undefined ||
      REPOSITORY_PINS.some((claim) => claims[claim] !== undefined && !isCatchAll(String(claims[claim])));
    if (!pinned)
      add(
        'warning',
        where,
        'pins no repository, owner or repository_id: a workflow in any GitHub repository can match it; add claims.repository or repository_id',
      );
    if ((identity.connections ?? []).some(isCatchAll))
      add('warning', where, "grants every connection ('*'); list the connections this workflow needs");
  }

  for (const [index, section] of policy.masking.entries())
    checkConnections(section.connections, `masking[${index}]`, true);
  return findings;
}

function lintNeverMatches(rule: PolicyRule, identityNames: readonly string[], report: (message: string) => void): void {
  const named = namespacesNamedBy(rule.when, FACT_NAMESPACES).map((namespace) => namespace.name);
  if (named.length > 1) {
    report(
      `mixes facts of several protocols (${named.join(', ')}), so it can never match; split it into one rule per protocol`,
    );
  }
  for (const when of sqlWhensOf(rule.when)) lintSqlNeverMatches(when, report);
  for (const name of rule.identities ?? []) {
    if (!GLOB_CHARS.test(name) && !identityNames.includes(name)) {
      report(`names identity '${name}', which no identities: entry defines, so it can never match`);
    } else if (GLOB_CHARS.test(name) && !identityNames.some(compileGlobs([name]))) {
      report(`identity pattern '${name}' matches no identities: entry, so it can never match`);
    }
  }
}

function lintSqlNeverMatches(when: SqlWhen, report: (message: string) => void): void {
  const both = (when.flags ?? []).filter((flag) => (when.without_flags ?? []).includes(flag));
  if (both.length > 0) report(`requires and forbids the same flags (${both.join(', ')}), so it can never match`);
  const onlyUnknown = when.kind !== undefined && when.kind.every((kind) => kind === 'unknown');
  const factKeys = (['tables', 'tables_read', 'tables_written', 'functions', 'flags', 'command'] as const).filter(
    (key) => when[key] !== undefined,
  );
  if (onlyUnknown && factKeys.length > 0) {
    report(
      `tests ${factKeys.join(', ')} on statements of kind unknown, which have no such facts, so it can never match`,
    );
  }
}

function lintOverBroad(rule: PolicyRule, report: (message: string) => void): void {
  if (rule.action === 'deny') return;
  const everywhere = rule.connections.some(isCatchAll);
  const scope =
    everywhere && rule.identities === undefined && rule.claims === undefined
      ? 'on every connection for every identity'
      : undefined;
  if (sqlKindsOf(rule.when)?.includes('unknown') && everywhere) {
    report(
      `${rule.action}s statements the gateway cannot analyse (kind unknown: DO, CALL, unparsable SQL, FunctionCall) on every connection; scope it to the connections that need it`,
    );
  }
  if (Object.keys(rule.when).length === 0 && scope) {
    report(
      `has no 'when', so it ${rule.action}s every analysable SQL statement and SSH command ${scope}; add when facts or scope it`,
    );
  }
  if (rule.when.ssh?.type?.includes('shell') && everywhere) {
    report(
      `${rule.action}s interactive shells, which the gateway cannot check command by command, on every connection`,
    );
  }
  const catchAll = (when: SqlWhen) =>
    (when.command ?? []).some(isCatchAll) ||
    (when.tables ?? []).some(isCatchAll) ||
    (when.functions ?? []).some(isCatchAll);
  if (sqlWhensOf(rule.when).some(catchAll)) {
    report("uses a catch-all pattern ('*') in when; such a test matches everything and only adds confusion");
  }
}

/**
 * Every finding that weakens enforcement, as one error naming them all (the messages
 * `gatehouse policy check` prints): what `serve` (and a policy reload) refuse to run with.
 */
export function assertEnforceable(policy: Policy, connections: readonly string[]): void {
  const weakening = lintPolicy(policy, { connections }).filter((f) => f.weakens);
  if (weakening.length === 0) return;
  throw new GatehouseError(
    'policy.weakened',
    `the policy does not apply as written, so the gateway will not start with it:\n${weakening
      .map((f) => `  ${f.severity}: ${f.where}: ${f.message}`)
      .join('\n')}\nfix these (gatehouse policy check --config gatehouse.yaml shows them)`,
  );
}

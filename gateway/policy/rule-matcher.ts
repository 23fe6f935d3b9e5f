import { claimAsString, compileClaimPattern } from '../identity/claim-pattern.ts';
import { flagsOf, type StatementAnalysis, type StatementFlag } from '../sql/statement-analysis.ts';
import {
  compileFunctionAllowList,
  compileFunctionGlobs,
  compileGlobs,
  compileTableGlobs,
  type NameTest,
} from './glob.ts';
import { compileHttpWhen, type HttpFactTest } from '../http-adapter/http-when.ts';
import { compileK8sRule } from '../kubernetes/k8s-rule.ts';
import type { K8sFacts } from '../kubernetes/k8s-facts.ts';
import type { PolicyRule, SshActionType, SshForwardKind } from './policy-types.ts';
import type { Identity } from './types.ts';

/** The SSH facts of one action, as the engine derives them from an `ssh.*` action. */
export interface SshFacts {
  type: SshActionType;
  /** argv of an exec; null when the command cannot be split safely (operators, substitutions). */
  argv: readonly string[] | null;
  command?: string;
  subsystem?: string;
  forward?: SshForwardKind;
  env?: string;
}

/** A rule compiled into predicates, so matching a hot statement allocates nothing. */
export interface CompiledRule {
  rule: PolicyRule;
  /** Connection, identity-rule name and claims: fixed for a session. */
  appliesTo(connection: string, identity: Identity): boolean;
  /** Undefined when the rule has only SSH facts. */
  matchesStatement?: (analysis: StatementAnalysis) => boolean;
  /** Undefined when the rule has only PostgreSQL facts. */
  matchesSsh?: (facts: SshFacts) => boolean;
  /** Undefined when the rule names facts of another protocol only. */
  matchesHttp?: HttpFactTest;
  /** Undefined when the rule names facts of another protocol only. */
  matchesK8s?: (facts: K8sFacts) => boolean;
}

/** Types that can smuggle arbitrary behaviour past per-command rules: they match only when listed. */
const EXPLICIT_SSH_TYPES: ReadonlySet<SshActionType> = new Set(['shell', 'forward', 'env']);

export function compileRule(rule: PolicyRule): CompiledRule {
  const connection = compileGlobs(rule.connections);
  const identities = rule.identities && compileGlobs(rule.identities);
  const claims = Object.entries(rule.claims ?? {}).map(([name, pattern]) => ({
    name,
    test: compileClaimPattern(pattern, `rule '${rule.name}' claim '${name}'`),
  }));
  const { ssh, http, k8s, ...pg } = rule.when;
  const hasPgFacts = Object.keys(pg).length > 0;
  const otherThanHttp = hasPgFacts || ssh !== undefined || k8s !== undefined;
  return {
    rule,
    appliesTo(name, identity) {
      if (!connection(name)) return false;
      if (identities && !(identity.identityRule !== undefined && identities(identity.identityRule))) return false;
      return claims.every(({ name: claim, test }) => {
        const value = claimAsString(identity.claims[claim]);
        return value !== undefined && test(value);
      });
    },
    matchesStatement:
      http !== undefined || k8s !== undefined
        ? undefined
        : ssh === undefined || hasPgFacts
          ? ssh === undefined
            ? compileStatementTest(rule)
            : () => false
          : undefined,
    matchesSsh: !hasPgFacts && http === undefined && k8s === undefined ? compileSshTest(rule) : undefined,
    matchesHttp: otherThanHttp ? undefined : compileHttpWhen(http ?? {}, rule.action !== 'deny'),
    matchesK8s: compileK8sRule(rule.when, rule.action),
  };
}

function anyOf(values: readonly string[], test: NameTest): boolean {
  for (const value of values) if (test(value)) return true;
  return false;
}

function compileStatementTest(rule: PolicyRule): (analysis: StatementAnalysis) => boolean {
  const when = rule.when;
  const kinds = when.kind && new Set<string>(when.kind);
  const allowsUnknown = kinds?.has('unknown') ?? false;
  const command = when.command && compileGlobs(when.command);
  const tables = when.tables && compileTableGlobs(when.tables);
  const tablesRead = when.tables_read && compileTableGlobs(when.tables_read);
  const tablesWritten = when.tables_written && compileTableGlobs(when.tables_written);
  const functions = when.functions && compileFunctionGlobs(when.functions);
  const onlyFunctions = when.only_functions && compileFunctionAllowList(when.only_functions);
  const flags = when.flags && new Set<StatementFlag>(when.flags);
  const withoutFlags = when.without_flags && new Set<StatementFlag>(when.without_flags);
  const needsFlags = flags !== undefined || withoutFlags !== undefined;

  return (a) => {
    if (a.kind === 'unknown' && !allowsUnknown) return false;
    if (kinds && !kinds.has(a.kind)) return false;
    if (command && !command(a.command)) return false;
    if (tables && !anyOf(a.tablesRead, tables) && !anyOf(a.tablesWritten, tables)) return false;
    if (tablesRead && !anyOf(a.tablesRead, tablesRead)) return false;
    if (tablesWritten && !anyOf(a.tablesWritten, tablesWritten)) return false;
    if (functions && !anyOf(a.functions, functions)) return false;
    if (onlyFunctions && !a.functions.every(onlyFunctions)) return false;
    if (needsFlags) {
      const set = flagsOf(a);
      if (flags && !set.some((f) => flags.has(f))) return false;
      if (withoutFlags && set.some((f) => withoutFlags.has(f))) return false;
    }
    return true;
  };
}

function compileSshTest(rule: PolicyRule): (facts: SshFacts) => boolean {
  const when = rule.when.ssh ?? {};
  const types = when.type && new Set<SshActionType>(when.type);
  const program = when.program && compileGlobs(when.program);
  const command = when.command && compileGlobs(when.command);
  const subsystem = when.subsystem && compileGlobs(when.subsystem);
  const forward = when.forward && new Set<SshForwardKind>(when.forward);
  const env = when.env && compileGlobs(when.env);
  const strict = rule.action !== 'deny';

  return (f) => {
    if (types ? !types.has(f.type) : EXPLICIT_SSH_TYPES.has(f.type)) return false;
    if (program || command) {
      if (f.type !== 'exec') return false;
      if (f.argv === null && strict) return false;
      const words = f.argv ?? (f.command ?? '').trim().split(/\s+/);
      const first = words[0] ?? '';
      if (program && !(program(first) || program(first.slice(first.lastIndexOf('/') + 1)))) return false;
      if (command && !command(f.argv ? f.argv.join(' ') : (f.command ?? ''))) return false;
    }
    if (subsystem && !(f.subsystem !== undefined && subsystem(f.subsystem))) return false;
    if (forward && !(f.forward !== undefined && forward.has(f.forward))) return false;
    if (env && !(f.env !== undefined && env(f.env))) return false;
    return true;
  };
}

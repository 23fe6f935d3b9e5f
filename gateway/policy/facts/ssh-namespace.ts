import type {
  SshEnvAction,
  SshExecAction,
  SshForwardAction,
  SshShellAction,
  SshSubsystemAction,
} from '../actions-and-decisions.ts';
import { compileGlobs } from '../glob.ts';
import type { PolicyRule } from '../policy-types.ts';
import { defaultDeny, type FactNamespace } from './fact-namespace.ts';

export const SSH_ACTION_TYPES = ['exec', 'shell', 'subsystem', 'forward', 'env'] as const;
export type SshActionType = (typeof SSH_ACTION_TYPES)[number];
export const SSH_FORWARD_KINDS = ['local', 'remote', 'agent', 'x11'] as const;
export type SshForwardKind = (typeof SSH_FORWARD_KINDS)[number];

/** `when.ssh`: the SSH facts a rule can test. Lists are "any of"; keys are ANDed. */
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

/** The actions of an SSH connection. */
export type SshAction = SshExecAction | SshShellAction | SshSubsystemAction | SshForwardAction | SshEnvAction;

/** Types that can smuggle arbitrary behaviour past per-command rules: they match only when listed. */
const EXPLICIT_SSH_TYPES: ReadonlySet<SshActionType> = new Set(['shell', 'forward', 'env']);

function compileSshWhen(rule: PolicyRule): (facts: SshFacts) => boolean {
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

function sshFactsOf(action: SshAction): SshFacts {
  switch (action.type) {
    case 'ssh.exec':
      return { type: 'exec', argv: action.argv, command: action.command };
    case 'ssh.shell':
      return { type: 'shell', argv: null };
    case 'ssh.subsystem':
      return { type: 'subsystem', argv: null, subsystem: action.name };
    case 'ssh.forward':
      return { type: 'forward', argv: null, forward: action.kind };
    case 'ssh.env':
      return { type: 'env', argv: null, env: action.name };
  }
}

function describeSsh(facts: SshFacts): string {
  if (facts.type === 'exec') return `exec of '${facts.argv?.[0] ?? facts.command?.split(/\s+/)[0] ?? ''}'`;
  if (facts.type === 'subsystem') return `subsystem '${facts.subsystem}'`;
  if (facts.type === 'forward') return `${facts.forward} forwarding`;
  if (facts.type === 'env') return `env ${facts.env}`;
  return 'shell';
}

/** SSH facts (`when.ssh`): exec, shell, subsystem, forwarding and env requests of an SSH session. */
export const SSH_FACTS: FactNamespace<SshAction, SshFacts> = {
  name: 'ssh',
  actionTypes: ['ssh.exec', 'ssh.shell', 'ssh.subsystem', 'ssh.forward', 'ssh.env'],
  names: (when) => when.ssh !== undefined,
  compile: (rule) => ({ matches: compileSshWhen(rule) }),
  createEvaluator: () => ({
    evaluate(action, scope) {
      const facts = sshFactsOf(action);
      const decision =
        scope.decide(facts) ??
        defaultDeny(
          `no policy rule allows ssh ${describeSsh(facts)} on connection '${action.connection}'; add an allow rule with when.ssh for it`,
        );
      return { decision, statements: [] };
    },
  }),
};

import { compileGlobs, type NameTest } from '../policy/glob.ts';
import type { K8sFacts, K8sMarker } from './k8s-facts.ts';
import type { PodFlag } from './pod-spec-facts.ts';

/**
 * `when.k8s` as written in a policy (snake_case). Lists are "any of"; keys are ANDed; a rule
 * with `k8s` facts applies only to Kubernetes requests.
 */
export interface K8sWhen {
  /** Kubernetes verbs (get, list, watch, create, update, patch, delete, deletecollection), and the markers impersonate, escalate, bind, proxy. */
  verbs?: string[];
  /** `pods`, `deployments.apps`, `pods/exec`, `pods/*`, `*.apps`: resource[.group][/subresource] globs. */
  resources?: string[];
  subresources?: string[];
  /** API groups; "" or "core" is the core group. */
  api_groups?: string[];
  /** Namespace globs; such a rule never matches a cluster-scoped request. */
  namespaces?: string[];
  /** Object name globs (the URL's name, or a list's `metadata.name=` field selector). */
  names?: string[];
  /** Any of these pod-spec settings in the body. */
  pod?: PodFlag[];
  /** None of these pod-spec settings in the body. */
  without_pod?: PodFlag[];
  capabilities?: string[];
  host_paths?: string[];
  service_accounts?: string[];
  images?: string[];
  /** Globs on an exec's program (argv[0], its base name or full path). */
  program?: string[];
  /** Globs on an exec's whole command line (argv joined by spaces). */
  command?: string[];
  /** Globs on the path of a non-resource request (`/healthz`, `/metrics`). */
  paths?: string[];
}

export type RuleAction = 'allow' | 'deny' | 'review';

type Test = (facts: K8sFacts) => boolean;

const anyOf = (values: readonly string[], test: NameTest): boolean => values.some(test);

/** A resource pattern split into its parts: `deployments.apps/scale` → deployments, apps, scale. */
function resourceTest(patterns: readonly string[], strict: boolean): Test {
  const parsed = patterns.map((pattern) => {
    const [left = '', sub] = pattern.split('/', 2);
    const dot = left.indexOf('.');
    return {
      resource: compileGlobs([dot < 0 ? left : left.slice(0, dot)]),
      group: dot < 0 ? undefined : compileGlobs([left.slice(dot + 1)]),
      sub: sub === undefined ? undefined : compileGlobs([sub]),
    };
  });
  return ({ info }) =>
    parsed.some((p) => {
      if (!p.resource(info.resource) || (p.group && !p.group(info.apiGroup))) return false;
      if (p.sub) return info.subresource !== '' && p.sub(info.subresource);
      return !strict || info.subresource === '';
    });
}

/** Markers a rule names, so it may match requests carrying them. */
function namedMarkers(when: K8sWhen): Set<string> {
  const named = new Set<string>([...(when.subresources ?? []), ...(when.verbs ?? [])]);
  for (const pattern of when.resources ?? []) {
    const sub = pattern.split('/', 2)[1];
    if (sub) named.add(sub);
  }
  if (named.has('token')) named.add('serviceaccounts/token');
  if (when.paths) named.add('non-resource');
  return named;
}

function execTest(when: K8sWhen): Test | undefined {
  const program = when.program && compileGlobs(when.program);
  const command = when.command && compileGlobs(when.command);
  if (!program && !command) return undefined;
  return ({ command: argv }) => {
    if (!argv || argv.length === 0) return false;
    const first = argv[0]!;
    if (program && !(program(first) || program(first.slice(first.lastIndexOf('/') + 1)))) return false;
    return !command || command(argv.join(' '));
  };
}

function podTests(when: K8sWhen): Test[] {
  const tests: Test[] = [];
  const list = (values: string[] | undefined, pick: (f: K8sFacts) => readonly string[] | undefined): void => {
    if (!values) return;
    const test = compileGlobs(values);
    tests.push((f) => anyOf(pick(f) ?? [], test));
  };
  if (when.pod) tests.push((f) => !!f.pod && f.pod.flags.some((flag) => when.pod!.includes(flag)));
  if (when.without_pod) tests.push((f) => !f.pod || !f.pod.flags.some((flag) => when.without_pod!.includes(flag)));
  list(when.capabilities, (f) => f.pod?.capabilities);
  list(when.host_paths, (f) => f.pod?.hostPaths);
  list(when.service_accounts, (f) => f.pod?.serviceAccounts);
  list(when.images, (f) => f.pod?.images);
  return tests;
}

function requestTests(when: K8sWhen, strict: boolean): Test[] {
  const tests: Test[] = [];
  const glob = (values: string[] | undefined, pick: (f: K8sFacts) => string): void => {
    if (!values) return;
    const test = compileGlobs(values);
    tests.push((f) => test(pick(f)));
  };
  if (when.verbs) {
    const verbs = compileGlobs(when.verbs);
    tests.push((f) => verbs(f.info.verb) || f.markers.some((m) => verbs(m)));
  }
  if (when.resources) tests.push(resourceTest(when.resources, strict));
  glob(when.subresources, (f) => f.info.subresource);
  if (when.api_groups) {
    const groups = compileGlobs(when.api_groups.map((g) => (g === 'core' ? '' : g)));
    tests.push((f) => groups(f.info.apiGroup));
  }
  if (when.namespaces) {
    const namespaces = compileGlobs(when.namespaces);
    tests.push((f) => f.info.namespace !== '' && namespaces(f.info.namespace));
  }
  glob(when.names, (f) => f.info.name);
  glob(when.paths, (f) => (f.info.isResourceRequest ? '\u0000' : f.info.path));
  return tests;
}

/**
 * Compiles `when.k8s` into one predicate over the facts of a request. A deny rule matches
 * broadly (its resource patterns cover subresources, it needs no marker named), an allow or
 * review rule narrowly: `resources: [pods]` follows RBAC and does not cover `pods/log`, and a
 * request carrying a marker (exec, port-forward, impersonation, a non-resource path, ...) matches
 * only a rule that names that marker. What a rule cannot see, it does not allow.
 */
export function compileK8sWhen(when: K8sWhen, action: RuleAction): Test {
  const strict = action !== 'deny';
  const named = namedMarkers(when);
  const exec = execTest(when);
  const tests = [...requestTests(when, strict), ...podTests(when), ...(exec ? [exec] : [])];
  const isResourceRule = !!(when.resources || when.subresources || when.api_groups || when.namespaces || when.names);
  return (facts) => {
    if (strict && facts.markers.some((marker: K8sMarker) => !named.has(marker))) return false;
    if (isResourceRule && !facts.info.isResourceRequest) return false;
    return tests.every((test) => test(facts));
  };
}

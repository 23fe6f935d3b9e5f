/** The security-relevant pod-spec settings a policy can test (`when.k8s.pod`). */
export const POD_FLAGS = [
  'privileged',
  'host_path',
  'host_network',
  'host_pid',
  'host_ipc',
  'added_capabilities',
  'privilege_escalation',
  'run_as_root',
  'host_port',
] as const;
export type PodFlag = (typeof POD_FLAGS)[number];

/**
 * What the pod specs inside one body would run with, over every container, init and ephemeral
 * container: the flags set anywhere, and the names behind them.
 */
export interface PodSpecFacts {
  flags: PodFlag[];
  capabilities: string[];
  hostPaths: string[];
  serviceAccounts: string[];
  images: string[];
  /** True when the body could not be read field by field (a JSON patch that moves or copies): every flag is assumed. */
  opaque: boolean;
}

type Node = Record<string, unknown>;

const isNode = (value: unknown): value is Node => !!value && typeof value === 'object' && !Array.isArray(value);

interface Collector {
  flags: Set<PodFlag>;
  capabilities: Set<string>;
  hostPaths: Set<string>;
  serviceAccounts: Set<string>;
  images: Set<string>;
}

function securityContext(context: Node, into: Collector): void {
  if (context.privileged === true) into.flags.add('privileged');
  if (context.allowPrivilegeEscalation === true) into.flags.add('privilege_escalation');
  if (context.runAsUser === 0 || context.runAsUser === '0') into.flags.add('run_as_root');
  const caps = isNode(context.capabilities) ? context.capabilities.add : undefined;
  if (Array.isArray(caps) && caps.length > 0) {
    into.flags.add('added_capabilities');
    for (const cap of caps) into.capabilities.add(String(cap).toUpperCase().replace(/^CAP_/, ''));
  }
}

function fieldsOf(node: Node, into: Collector): void {
  for (const flag of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (node[flag] === true) into.flags.add(`host_${flag.slice(4).toLowerCase()}` as PodFlag);
  }
  if (isNode(node.hostPath)) {
    into.flags.add('host_path');
    into.hostPaths.add(String(node.hostPath.path ?? ''));
  }
  if (node.hostPort !== undefined && node.hostPort !== 0 && node.hostPort !== null) into.flags.add('host_port');
  for (const key of ['serviceAccountName', 'serviceAccount'] as const) {
    if (typeof node[key] === 'string' && node[key] !== '') into.serviceAccounts.add(node[key] as string);
  }
  if (typeof node.image === 'string' && (Array.isArray(node.command) || 'name' in node || 'imagePullPolicy' in node))
    into.images.add(node.image);
  if (isNode(node.securityContext)) securityContext(node.securityContext, into);
}

/** Strings hold no fields: annotations (last-applied-configuration), ConfigMap data are not read. */
function walk(value: unknown, into: Collector, depth: number): void {
  if (depth > 64) return;
  if (Array.isArray(value)) {
    for (const item of value) walk(item, into, depth + 1);
    return;
  }
  if (!isNode(value)) return;
  fieldsOf(value, into);
  for (const [key, child] of Object.entries(value)) if (key !== 'securityContext') walk(child, into, depth + 1);
}

/**
 * Scans a body for pod-spec settings wherever they are, by field name rather than by kind: a
 * Pod's spec, a Deployment/StatefulSet/DaemonSet/ReplicaSet/Job template, a CronJob's job
 * template, a custom resource's embedded template, or a patch that sets one of them. Reading
 * every position over-approximates (a custom field named `hostNetwork: true` counts), which only
 * ever makes a rule that denies privileged pods match more.
 */
export function podSpecFacts(document: unknown, opaque = false): PodSpecFacts {
  const into: Collector = {
    flags: new Set(),
    capabilities: new Set(),
    hostPaths: new Set(),
    serviceAccounts: new Set(),
    images: new Set(),
  };
  walk(document, into, 0);
  const flags = opaque ? [...POD_FLAGS] : POD_FLAGS.filter((flag) => into.flags.has(flag));
  return {
    flags,
    capabilities: [...into.capabilities].sort(),
    hostPaths: [...into.hostPaths].sort(),
    serviceAccounts: [...into.serviceAccounts].sort(),
    images: [...into.images].sort(),
    opaque,
  };
}

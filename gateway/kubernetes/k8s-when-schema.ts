import { POD_FLAGS } from './pod-spec-facts.ts';

const globs = (description: string) =>
  ({ type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, description }) as const;
const strings = (description: string) =>
  ({ type: 'array', items: { type: 'string' }, minItems: 1, description }) as const;
const flags = (description: string) =>
  ({ type: 'array', items: { enum: [...POD_FLAGS] }, minItems: 1, description }) as const;

/**
 * JSON Schema of `when.k8s` (the policy schema's piece for the Kubernetes facts). Descriptions
 * say what matches, so `gatehouse policy check` errors and the policy reference explain the rule.
 */
export const K8S_WHEN_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  description:
    'Kubernetes facts; a rule with k8s facts applies only to Kubernetes requests. An allow or review rule matches exec, attach, port-forward, proxy, ephemeral containers, service-account tokens, impersonation, bind, escalate and non-resource paths only when it names them.',
  properties: {
    verbs: globs(
      'Kubernetes verbs as the API server derives them: get, list, watch, create, update, patch, delete, deletecollection; also impersonate, bind, escalate, proxy',
    ),
    resources: globs('resource[.group][/subresource] globs: pods, deployments.apps, pods/exec, pods/*, *.apps'),
    subresources: globs('Subresources: exec, log, scale, status, attach, portforward, token, ...'),
    api_groups: strings('API groups; "" or "core" is the core group'),
    namespaces: globs('Namespace globs; never matches a cluster-scoped request'),
    names: globs("Object name globs (the URL's name, or a list's metadata.name field selector)"),
    pod: flags('Matches when the body sets any of these pod-spec settings (in any workload or pod template)'),
    without_pod: flags('Matches when the body sets none of these pod-spec settings'),
    capabilities: globs('Added Linux capabilities (NET_ADMIN, SYS_ADMIN, ...)'),
    host_paths: globs('hostPath volume paths'),
    service_accounts: globs('Service account names of pod specs in the body'),
    images: globs('Container images of pod specs in the body'),
    program: globs("Globs on an exec's program (argv[0], its base name or full path)"),
    command: globs("Globs on an exec's whole command line (its command= parameters joined by spaces)"),
    paths: globs('Globs on the path of a non-resource request (/healthz, /metrics)'),
  },
} as const;

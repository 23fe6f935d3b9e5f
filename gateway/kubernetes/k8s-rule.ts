import { DEFAULT_DENY_RULE } from '../policy/facts/fact-namespace.ts';
import type { Decision, K8sRequestAction } from '../policy/actions-and-decisions.ts';
import { describeKubeRequest } from './kube-request.ts';

/** The rule that lets kubectl start: version, discovery and OpenAPI reads pass when no rule decides them. */
export const K8S_DISCOVERY_RULE = 'k8s-discovery';

/** What decides a Kubernetes request no rule matched: discovery passes, anything else is denied with the fix. */
export function k8sFallbackDecision(action: K8sRequestAction): Decision {
  if (action.discovery)
    return { action: 'allow', rule: K8S_DISCOVERY_RULE, reason: 'discovery and OpenAPI reads kubectl needs to start' };
  const what = describeKubeRequest(action.facts.info, null);
  const markers = action.facts.markers.filter((m) => m !== 'non-resource');
  const fix = !action.facts.info.isResourceRequest
    ? 'with when.k8s.paths for it'
    : markers.length
      ? `whose when.k8s names ${markers.join(', ')} (a broad verb rule does not cover it)`
      : 'with when.k8s for it';
  return {
    action: 'deny',
    rule: DEFAULT_DENY_RULE,
    reason: `no policy rule allows ${what} on connection '${action.connection}'; add an allow rule ${fix}`,
  };
}

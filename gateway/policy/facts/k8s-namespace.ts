import type { K8sFacts } from '../../kubernetes/k8s-facts.ts';
import { k8sFallbackDecision } from '../../kubernetes/k8s-rule.ts';
import { compileK8sWhen } from '../../kubernetes/k8s-when.ts';
import type { K8sRequestAction } from '../actions-and-decisions.ts';
import type { FactNamespace } from './fact-namespace.ts';

/**
 * Kubernetes facts (`when.k8s`, compiled by `kubernetes/k8s-when.ts`): one API request of a
 * `kubernetes` connection. No matching rule: discovery reads pass (kubectl needs them to start),
 * anything else is denied naming the fix.
 */
export const K8S_FACTS: FactNamespace<K8sRequestAction, K8sFacts> = {
  name: 'k8s',
  actionTypes: ['k8s.request'],
  names: (when) => when.k8s !== undefined,
  compile: (rule) => ({ matches: compileK8sWhen(rule.when.k8s ?? {}, rule.action) }),
  createEvaluator: () => ({
    evaluate: (action, scope) => ({
      decision: scope.decide(action.facts) ?? k8sFallbackDecision(action),
      statements: [],
    }),
  }),
};

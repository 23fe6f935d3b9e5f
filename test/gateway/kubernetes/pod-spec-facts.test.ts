import { describe, expect, it } from 'vitest';
import { POD_FLAGS, podSpecFacts } from '../../../gateway/kubernetes/pod-spec-facts.ts';

const riskySpec = {
  hostNetwork: true,
  hostPID: true,
  hostIPC: true,
  serviceAccountName: 'deployer',
  securityContext: { runAsUser: 0 },
  containers: [
    {
      name: 'app',
      image: 'nginx:1.27',
      ports: [{ containerPort: 80, hostPort: 8080 }],
      securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN', 'cap_sys_time'] } },
    },
  ],
  initContainers: [{ name: 'init', image: 'busybox', securityContext: { allowPrivilegeEscalation: true } }],
  volumes: [{ name: 'root', hostPath: { path: '/' } }],
};

const template = { metadata: { labels: { app: 'x' } }, spec: riskySpec };

describe('podSpecFacts', () => {
  it.each([
    ['Pod', { apiVersion: 'v1', kind: 'Pod', spec: riskySpec }],
    ['Deployment', { kind: 'Deployment', spec: { template } }],
    ['StatefulSet', { kind: 'StatefulSet', spec: { template } }],
    ['DaemonSet', { kind: 'DaemonSet', spec: { template } }],
    ['ReplicaSet', { kind: 'ReplicaSet', spec: { template } }],
    ['Job', { kind: 'Job', spec: { template } }],
    ['CronJob', { kind: 'CronJob', spec: { jobTemplate: { spec: { template } } } }],
    ['PodTemplate', { kind: 'PodTemplate', template }],
    ['custom resource', { kind: 'Rollout', spec: { workload: { template } } }],
  ])('finds every risky setting in a %s', (_kind, document) => {
    const facts = podSpecFacts(document);
    expect(facts.flags).toEqual([...POD_FLAGS]);
    expect(facts.capabilities).toEqual(['NET_ADMIN', 'SYS_TIME']);
    expect(facts.hostPaths).toEqual(['/']);
    expect(facts.serviceAccounts).toEqual(['deployer']);
    expect(facts.images).toEqual(['busybox', 'nginx:1.27']);
  });

  it('finds nothing risky in a plain pod, and does not read strings such as annotations', () => {
    const facts = podSpecFacts({
      kind: 'Pod',
      metadata: { annotations: { note: '{"spec":{"hostNetwork":true}}' } },
      spec: {
        hostNetwork: false,
        containers: [{ name: 'a', image: 'a', securityContext: { privileged: false, runAsUser: 1000 } }],
      },
    });
    expect(facts.flags).toEqual([]);
  });

  it('finds a setting a patch sets without the rest of the spec', () => {
    expect(podSpecFacts({ spec: { template: { spec: { hostNetwork: true } } } }).flags).toEqual(['host_network']);
  });

  it('assumes every flag of a body it could not read field by field', () => {
    expect(podSpecFacts({}, true)).toMatchObject({ flags: [...POD_FLAGS], opaque: true });
  });
});

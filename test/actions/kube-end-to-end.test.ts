import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-apiserver/kube-apiserver.ts';
import { kubectlBinary } from '../support/kubectl.ts';
import { startFakeOidcEndpoint, type FakeOidcEndpoint } from './support/fake-github.ts';
import { startActionTestbed, type ActionTestbed } from './support/real-gateway.ts';
import { createRunnerFiles } from './support/runner-files.ts';
import { runStep } from './support/run-step.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const POLICY = `
identities:
  - { name: main-deploys, claims: { repository: acme/app, ref: refs/heads/main }, repository_id: "123456", connections: [prod-cluster] }
rules:
  - { name: kube-reads, connections: [prod-cluster], when: { k8s: { verbs: [get, list], namespaces: [default] } }, action: allow, reason: "reads" }
`;

describe(
  'the Action with a Kubernetes connection, against the real gateway and the API server stand-in',
  { timeout: 60_000 },
  () => {
    let server: KubeApiServer;
    let bed: ActionTestbed;
    let oidc: FakeOidcEndpoint;

    beforeAll(async () => {
      server = await startKubeApiServer();
      bed = await startActionTestbed(POLICY, { kube: { url: server.url, ca: server.tls.ca, token: server.token } });
      oidc = await startFakeOidcEndpoint((audience) => bed.issuer.mint({}, { aud: audience }));
    }, 90_000);
    afterAll(async () => {
      await oidc?.close();
      await bed?.close();
      await server?.close();
    });

    it('exports a KUBECONFIG kubectl uses unchanged over TLS to the local proxy, and summarises the requests', async () => {
      const runner = createRunnerFiles();
      try {
        const connect = await runStep('connect.mjs', {
          ...runner.env,
          ...oidc.env,
          INPUT_GATEWAY: bed.gateway.httpUrl,
          INPUT_AUDIENCE: bed.audience,
          INPUT_CONNECTIONS: 'prod-cluster',
        });
        expect(connect.stdout).not.toContain('::error::');
        expect(connect.code).toBe(0);
        const env = runner.exported();
        expect(env.KUBECONFIG).toBeDefined();
        const kubectl = (...args: string[]) =>
          execFileAsync(kubectlBinary(31), args, {
            env: { PATH: process.env.PATH, HOME: runner.env.RUNNER_TEMP, KUBECONFIG: env.KUBECONFIG },
          }).then(
            (done) => ({ code: 0, ...done }),
            (failed: { code: number; stdout: string; stderr: string }) => failed,
          );
        const serverUrl = await kubectl('config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}');
        expect(serverUrl.stdout).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
        const read = await kubectl('get', 'pods', '-n', 'kube-system');
        expect(read.stderr).toMatch(/Forbidden/);
        const pods = await kubectl('get', 'pods', '-n', 'default');
        expect(pods.code).toBe(0);
        expect(pods.stderr).toContain('No resources found');
        expect(server.requests.at(-1)?.credential).toEqual({ kind: 'bearer', token: server.token });

        const disconnect = await runStep('disconnect.mjs', runner.env);
        expect(disconnect.code).toBe(0);
        const summary = runner.summary();
        expect(summary).toMatch(/\| prod-cluster \| `list pods -n default` \| allow \| kube-reads \|/);
        expect(summary).toMatch(/\| prod-cluster \| `list pods -n kube-system` \| deny \| default-deny \|/);
        expect(summary).not.toContain(server.token);
      } finally {
        runner.cleanup();
      }
    }, 90_000);
  },
);

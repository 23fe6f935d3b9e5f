import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderKubeconfig, writeKubeconfig } from '../../../actions/src/kubeconfig.ts';
import { kubectlBinary } from '../../support/kubectl.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const listeners = [
  { name: 'app-db', type: 'postgres', host: '127.0.0.1', port: 1 },
  {
    name: 'prod-cluster',
    type: 'kubernetes',
    host: '127.0.0.1',
    port: 6443,
    url: 'https://127.0.0.1:6443',
    password: 'local"pw',
    namespace: 'ci',
    ca: '-----BEGIN CERTIFICATE-----\nlocal CA\n-----END CERTIFICATE-----\n',
  },
  { name: 'staging', type: 'kubernetes', host: '127.0.0.1', port: 6444, password: 'pw2' },
];

describe('the KUBECONFIG the Action writes', () => {
  it('has one HTTPS cluster pinning the local CA, a user and a context per Kubernetes connection, the first current, the local password as token', () => {
    const config = parse(renderKubeconfig(listeners)!);
    expect(config.clusters).toEqual([
      {
        name: 'prod-cluster',
        cluster: {
          server: 'https://127.0.0.1:6443',
          'certificate-authority-data': Buffer.from(listeners[1]!.ca!).toString('base64'),
        },
      },
      { name: 'staging', cluster: { server: 'https://127.0.0.1:6444' } },
    ]);
    expect(config.users[0]).toEqual({ name: 'prod-cluster', user: { token: 'local"pw' } });
    expect(config.contexts[0].context).toEqual({ cluster: 'prod-cluster', user: 'prod-cluster', namespace: 'ci' });
    expect(config.contexts[1].context.namespace).toBeUndefined();
    expect(config['current-context']).toBe('prod-cluster');
  });

  it('is nothing without a Kubernetes connection', () => {
    expect(renderKubeconfig([listeners[0]!])).toBeUndefined();
  });

  it('is a file kubectl reads, private to the job', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
    dirs.push(dir);
    const file = writeKubeconfig(dir, listeners)!;
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const contexts = execFileSync(kubectlBinary(32), ['config', 'get-contexts', '-o', 'name'], {
      env: { HOME: dir, KUBECONFIG: file, PATH: process.env.PATH },
      encoding: 'utf8',
    });
    expect(contexts.trim().split('\n')).toEqual(['prod-cluster', 'staging']);
    const server = execFileSync(
      kubectlBinary(30),
      ['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}'],
      {
        env: { HOME: dir, KUBECONFIG: file, PATH: process.env.PATH },
        encoding: 'utf8',
      },
    );
    expect(server).toBe('https://127.0.0.1:6443');
  });
});

import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import type { KubernetesConnectionConfig } from '../../../gateway/config/config-types.ts';
import { kubernetesConnectionType } from '../../../gateway/kubernetes/kubernetes-connection.ts';
import { resolveKubeTarget, SERVICE_ACCOUNT_DIR, TOKEN_REREAD_MS } from '../../../gateway/kubernetes/kube-target.ts';

const validate = new Ajv({ strict: false, useDefaults: true }).compile(kubernetesConnectionType.schema);
const config = (entry: Record<string, unknown>): KubernetesConnectionConfig => {
  const copy = { type: 'kubernetes', ...entry };
  if (!validate(copy)) throw new Error(JSON.stringify(validate.errors));
  return kubernetesConnectionType.toConfig('prod', copy);
};

describe('type: kubernetes connections', () => {
  it('accept exactly one credential', () => {
    expect(validate({ type: 'kubernetes', url: 'https://k:6443', token: 't' })).toBe(true);
    expect(validate({ type: 'kubernetes', url: 'https://k:6443', client_certificate: 'c', client_key: 'k' })).toBe(
      true,
    );
    expect(validate({ type: 'kubernetes', in_cluster: true })).toBe(true);
    expect(validate({ type: 'kubernetes', url: 'https://k:6443' })).toBe(false);
    expect(
      validate({ type: 'kubernetes', url: 'https://k:6443', token: 't', client_certificate: 'c', client_key: 'k' }),
    ).toBe(false);
    expect(validate({ type: 'kubernetes', url: 'https://k:6443', token: 't', in_cluster: true })).toBe(false);
    expect(validate({ type: 'kubernetes', url: 'http://k:6443', token: 't' })).toBe(false);
  });

  it('resolve a token or a client certificate with the CA as given', () => {
    const sources = { readFile: () => '', env: {}, now: () => 0 };
    const bearer = resolveKubeTarget(config({ url: 'https://k:6443', token: 'sa-token', ca: 'PEM' }), sources);
    expect(bearer.url.href).toBe('https://k:6443/');
    expect(bearer.ca).toBe('PEM');
    expect(bearer.credential.kind === 'bearer' && bearer.credential.token()).toBe('sa-token');
    const cert = resolveKubeTarget(
      config({ url: 'https://k:6443', client_certificate: 'C', client_key: 'K' }),
      sources,
    );
    expect(cert).toMatchObject({ credential: { kind: 'client-certificate', cert: 'C', key: 'K' } });
    expect(cert.ca).toBeUndefined();
  });

  it('resolve the in-cluster service account and re-read its rotating token', () => {
    let now = 0;
    let token = 'first';
    const files: Record<string, () => string> = {
      [`${SERVICE_ACCOUNT_DIR}/token`]: () => `${token}\n`,
      [`${SERVICE_ACCOUNT_DIR}/ca.crt`]: () => 'CLUSTER-CA',
    };
    const sources = {
      readFile: (path: string) => files[path]!(),
      env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
      now: () => now,
    };
    const target = resolveKubeTarget(config({ in_cluster: true }), sources);
    expect(target.url.href).toBe('https://10.96.0.1/');
    expect(target.ca).toBe('CLUSTER-CA');
    if (target.credential.kind !== 'bearer') throw new Error('not bearer');
    expect(target.credential.token()).toBe('first');
    token = 'second';
    expect(target.credential.token()).toBe('first');
    now = TOKEN_REREAD_MS;
    expect(target.credential.token()).toBe('second');
  });

  it('names the connection and the fix when the service account is missing', () => {
    const sources = {
      readFile: () => {
        throw new Error('ENOENT');
      },
      env: {},
      now: () => 0,
    };
    expect(() => resolveKubeTarget(config({ in_cluster: true }), sources)).toThrow(
      `connection 'prod': in_cluster, but ${SERVICE_ACCOUNT_DIR}/token cannot be read`,
    );
    const noEnv = { readFile: () => 'x', env: {}, now: () => 0 };
    expect(() => resolveKubeTarget(config({ in_cluster: true }), noEnv)).toThrow('KUBERNETES_SERVICE_HOST');
  });
});

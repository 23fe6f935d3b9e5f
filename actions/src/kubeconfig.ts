import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalConnection } from './client-env.ts';

/**
 * What the local proxy announces for a Kubernetes listener: host, port, the per-session local
 * password (kubectl sends it as its bearer token, the proxy checks it and the gateway adds the
 * real cluster credential), and the namespace the connection defaults to.
 */
export type KubeListener = LocalConnection & { namespace?: string };

/** YAML double-quoted scalar (JSON string syntax is a subset), so no value can break the document. */
const quoted = (value: string): string => JSON.stringify(value);

/**
 * The kubeconfig text with one cluster, user and context per Kubernetes listener, named after the
 * connection; the current context is the first. The server is the loopback proxy over HTTPS with
 * the CA the proxy made for this run (kubectl sends a bearer token only over TLS); the file holds
 * no cluster CA and no cluster credential. Undefined when there is no Kubernetes listener.
 */
export function renderKubeconfig(connections: readonly KubeListener[]): string | undefined {
  const kube = connections.filter((c) => c.type === 'kubernetes');
  if (kube.length === 0) return undefined;
  const clusters = kube.map(
    (c) =>
      `- name: ${quoted(c.name)}\n  cluster:\n    server: ${quoted(c.url ?? `https://${c.host}:${c.port}`)}` +
      (c.ca ? `\n    certificate-authority-data: ${quoted(Buffer.from(c.ca, 'utf8').toString('base64'))}` : ''),
  );
  const users = kube.map((c) => `- name: ${quoted(c.name)}\n  user:\n    token: ${quoted(c.password ?? '')}`);
  const contexts = kube.map(
    (c) =>
      `- name: ${quoted(c.name)}\n  context:\n    cluster: ${quoted(c.name)}\n    user: ${quoted(c.name)}` +
      (c.namespace ? `\n    namespace: ${quoted(c.namespace)}` : ''),
  );
  return [
    '# Written by the Gatehouse action for this job; the token is a per-session local password.',
    'apiVersion: v1',
    'kind: Config',
    'preferences: {}',
    'clusters:',
    ...clusters,
    'users:',
    ...users,
    'contexts:',
    ...contexts,
    `current-context: ${quoted(kube[0]!.name)}`,
    '',
  ].join('\n');
}

/** Writes the session's kubeconfig (mode 0600) into its private folder; returns its path. */
export function writeKubeconfig(dir: string, connections: readonly KubeListener[]): string | undefined {
  const text = renderKubeconfig(connections);
  if (!text) return undefined;
  const file = join(dir, 'kubeconfig');
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

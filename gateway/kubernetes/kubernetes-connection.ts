import type { ConnectionType } from '../config/connection-type.ts';
import type { KubernetesConnectionConfig } from '../config/config-types.ts';

/** `type: kubernetes` entries of gatehouse.yaml. */
export const kubernetesConnectionType: ConnectionType<KubernetesConnectionConfig> = {
  type: 'kubernetes',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['type'],
    description:
      'A Kubernetes API server. Give exactly one credential: token, client_certificate with client_key, or in_cluster: true.',
    properties: {
      type: { const: 'kubernetes' },
      url: { type: 'string', pattern: '^https://', description: 'https://host:port of the API server' },
      ca: { type: 'string', description: "PEM of the CA the API server's certificate must chain to; use ${file:PATH}" },
      token: {
        type: 'string',
        minLength: 1,
        description: 'Bearer token the gateway sends; use ${env:NAME} or ${file:PATH}',
      },
      client_certificate: { type: 'string', description: 'PEM client certificate; use ${file:PATH}' },
      client_key: { type: 'string', description: 'PEM key of client_certificate; use ${file:PATH}' },
      in_cluster: {
        type: 'boolean',
        default: false,
        description:
          'The service account of the pod the gateway runs in (its token, ca.crt and KUBERNETES_SERVICE_HOST)',
      },
      namespace: { type: 'string', description: "The namespace the job's KUBECONFIG context defaults to" },
      audit: { enum: ['required', 'best-effort'], default: 'required' },
    },
    oneOf: [
      {
        required: ['url', 'token'],
        not: {
          anyOf: [
            { required: ['client_certificate'] },
            { properties: { in_cluster: { const: true } }, required: ['in_cluster'] },
          ],
        },
      },
      {
        required: ['url', 'client_certificate', 'client_key'],
        not: {
          anyOf: [{ required: ['token'] }, { properties: { in_cluster: { const: true } }, required: ['in_cluster'] }],
        },
      },
      {
        required: ['in_cluster'],
        properties: { in_cluster: { const: true } },
        not: { anyOf: [{ required: ['token'] }, { required: ['client_certificate'] }] },
      },
    ],
  },
  toConfig: (name, c) => ({
    type: 'kubernetes',
    name,
    url: c.url as string | undefined,
    ca: c.ca as string | undefined,
    token: c.token as string | undefined,
    clientCertificate: c.client_certificate as string | undefined,
    clientKey: c.client_key as string | undefined,
    inCluster: c.in_cluster === true,
    namespace: c.namespace as string | undefined,
    audit: c.audit as KubernetesConnectionConfig['audit'],
  }),
};

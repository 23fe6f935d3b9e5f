import { describe, expect, it } from 'vitest';
import { createContentMasker } from '../../../gateway/content/detectors.ts';
import {
  LAST_APPLIED,
  maskKubeDocument,
  SECRET_MARKER,
  SECRET_MARKER_BASE64,
} from '../../../gateway/kubernetes/object-masking.ts';

const masker = createContentMasker({ detectors: ['aws_access_key', 'github_token', 'jwt'] });
const maskText = (text: string) => masker.maskText(text);
const AWS = 'AKIAIOSFODNN7EXAMPLE';
const GITHUB = `ghp_${'a1B2'.repeat(9)}`;

const secret = () => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name: 'db',
    annotations: {
      [LAST_APPLIED]: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db' },
        stringData: { password: 'hunter2' },
      }),
    },
  },
  data: { password: Buffer.from('hunter2').toString('base64'), user: Buffer.from('app').toString('base64') },
  type: 'Opaque',
});

describe('maskKubeDocument', () => {
  it('replaces every Secret value with the marker in valid base64, and masks the last-applied copy too', () => {
    const doc = secret();
    const counts = maskKubeDocument(doc, maskText);
    expect(doc.data).toEqual({ password: SECRET_MARKER_BASE64, user: SECRET_MARKER_BASE64 });
    expect(Buffer.from(doc.data.password, 'base64').toString('utf8')).toBe(SECRET_MARKER);
    const applied = JSON.parse(doc.metadata.annotations[LAST_APPLIED]!);
    expect(applied.stringData).toEqual({ password: SECRET_MARKER });
    expect(JSON.stringify(doc)).not.toContain('hunter2');
    expect(counts).toEqual({ secretValues: 3, detected: 0, lastApplied: 1 });
  });

  it('masks each Secret of a list, whose items carry no kind', () => {
    const { apiVersion: _a, kind: _k, ...item } = secret();
    const list = { apiVersion: 'v1', kind: 'SecretList', metadata: {}, items: [item, item] };
    maskKubeDocument(list, maskText);
    expect(JSON.stringify(list)).not.toContain(Buffer.from('hunter2').toString('base64'));
    expect(JSON.stringify(list)).not.toContain('hunter2');
  });

  it('masks the objects and cells of a Table response, metadata-only rows included', () => {
    const table = {
      apiVersion: 'meta.k8s.io/v1',
      kind: 'Table',
      metadata: {},
      columnDefinitions: [{ name: 'Name', type: 'string' }],
      rows: [
        {
          cells: [`key-${AWS}`],
          object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: secret().metadata },
        },
        { cells: ['db'], object: secret() },
      ],
    };
    maskKubeDocument(table, maskText);
    const text = JSON.stringify(table);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain(AWS);
    expect(text).not.toContain(Buffer.from('hunter2').toString('base64'));
  });

  it('masks detected tokens in pod env values, args, annotations and ConfigMap data, leaving clean values', () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', annotations: { note: `token ${GITHUB}` } },
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'a',
                image: 'a',
                args: ['--key', AWS],
                env: [
                  { name: 'AWS', value: AWS },
                  { name: 'MODE', value: 'prod' },
                ],
              },
            ],
          },
        },
      },
    };
    const counts = maskKubeDocument(deployment, maskText);
    const container = deployment.spec.template.spec.containers[0]!;
    expect(container.env).toEqual([
      { name: 'AWS', value: '****' },
      { name: 'MODE', value: 'prod' },
    ]);
    expect(container.args).toEqual(['--key', '****']);
    expect(deployment.metadata.annotations.note).toBe('token ****');
    expect(counts.detected).toBe(3);
    const configMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c' },
      data: { url: `x?t=${GITHUB}`, plain: 'ok' },
    };
    maskKubeDocument(configMap, maskText);
    expect(configMap.data).toEqual({ url: 'x?t=****', plain: 'ok' });
  });

  it('drops a last-applied annotation that is not JSON rather than pass it through', () => {
    const doc = secret();
    doc.metadata.annotations[LAST_APPLIED] = 'not json hunter2';
    maskKubeDocument(doc, maskText);
    expect(doc.metadata.annotations).toEqual({});
  });
});

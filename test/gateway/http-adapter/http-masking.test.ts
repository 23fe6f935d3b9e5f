import { describe, expect, it } from 'vitest';
import { compileHttpMasking } from '../../../gateway/http-adapter/http-masking.ts';
import { createContentMasker } from '../../../gateway/content/detectors.ts';

const detectors = createContentMasker({ detectors: [] });

describe('compileHttpMasking', () => {
  it('merges the fields and passed types of the entries that apply to the connection', () => {
    const rules = compileHttpMasking(
      [
        { connections: ['api-*'], fields: [{ path: '$..email', keep_last: 2 }], pass_content_types: ['image/*'] },
        { connections: ['db'], fields: [{ path: '$.password' }] },
        { fields: [{ path: '$.token' }] },
      ],
      'api-prod',
      detectors,
    );
    expect(rules.fields.map((f) => [f.path, f.keepLast])).toEqual([
      ['$..email', 2],
      ['$.token', 0],
    ]);
    expect(rules.passes('image/png')).toBe(true);
    expect(rules.passes('application/octet-stream')).toBe(false);
  });

  it('passes nothing unreadable when no entry says so', () => {
    expect(compileHttpMasking([], 'api', detectors).passes('application/pdf')).toBe(false);
  });

  it('names the entry of a bad path or keep_last', () => {
    expect(() => compileHttpMasking([{ fields: [{ path: 'user.email' }] }], 'api', detectors)).toThrow(
      /masking\[0\]\.fields: JSON path/,
    );
    expect(() => compileHttpMasking([{}, { fields: [{ path: '$.a', keep_last: 9 }] }], 'api', detectors)).toThrow(
      /masking\[1\]/,
    );
  });
});

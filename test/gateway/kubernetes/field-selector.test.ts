import { describe, expect, it } from 'vitest';
import { exactMatch, parseFieldSelector } from '../../../gateway/kubernetes/field-selector.ts';

describe('parseFieldSelector', () => {
  it('reads =, == and != terms and unescapes \\, \\= and \\\\ in values', () => {
    expect(parseFieldSelector('metadata.name==a\\,b,status.phase!=Running,spec.x=c\\=d\\\\')).toEqual([
      { key: 'metadata.name', op: '=', value: 'a,b' },
      { key: 'spec.x', op: '=', value: 'c=d\\' },
      { key: 'status.phase', op: '!=', value: 'Running' },
    ]);
  });

  it('refuses a term without an operator and an unknown escape, as the server does', () => {
    expect(parseFieldSelector('metadata.name')).toBeNull();
    expect(parseFieldSelector('metadata.name=a\\b')).toBeNull();
    expect(parseFieldSelector('')).toEqual([]);
  });

  it('takes the exact name from the first matching term in the sorted order the server reads', () => {
    expect(exactMatch(parseFieldSelector('metadata.name=b,metadata.name=a')!, 'metadata.name')).toBe('a');
    expect(exactMatch(parseFieldSelector('metadata.name!=a')!, 'metadata.name')).toBeUndefined();
  });
});

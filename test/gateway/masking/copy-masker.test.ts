import { describe, expect, it } from 'vitest';
import { RAW, type ColumnMask } from '../../../gateway/masking/column-mask.ts';
import { createCopyMasker } from '../../../gateway/masking/copy-masker.ts';
import { createContentMasker } from '../../../gateway/content/detectors.ts';
import type { CopyFormat, RowsPlan } from '../../../gateway/masking/mask-plan.ts';

const content = createContentMasker({ detectors: ['email', 'payment_card'] });
const TEXT: CopyFormat = { format: 'text', delimiter: '\t', quote: '"', escape: '"', null: '\\N', header: false };
const CSV: CopyFormat = { format: 'csv', delimiter: ',', quote: '"', escape: '"', null: '', header: true };
const email: ColumnMask = { kind: 'mask-column', keepLast: 0, column: 'public.customers.email' };

function plan(masks: ColumnMask[], copy: CopyFormat, typeOids: (number | undefined)[] = []): RowsPlan {
  return {
    kind: 'rows',
    columns: masks.map((mask, i) => ({ name: `c${i}`, mask, typeOid: typeOids[i] })),
    fallback: RAW,
    origins: new Map(),
    relations: new Set(),
    messages: 'detect',
    copy,
  };
}

function copyData(text: string): Buffer {
  const payload = Buffer.from(text);
  const head = Buffer.alloc(5);
  head[0] = 0x64;
  head.writeInt32BE(4 + payload.length, 1);
  return Buffer.concat([head, payload]);
}

function payloads(messages: Buffer[]): string {
  return messages.map((m) => m.subarray(5).toString()).join('');
}

describe('COPY masker', () => {
  it('masks text-format columns and escapes, keeping NULL markers', () => {
    const masker = createCopyMasker(plan([RAW, email, RAW], TEXT), content);
    const out = masker.push(copyData('1\tada@engines.example.com\tnote with\\ttab\n2\t\\N\tcard 5500005555555559\n'));
    expect(payloads(out)).toBe('1\t****\tnote with\\ttab\n2\t\\N\tcard ****\n');
    expect(masker.counts).toEqual({ masked: 1, detected: 1 });
  });

  it('sends unchanged rows as the very bytes it received', () => {
    const masker = createCopyMasker(plan([RAW, RAW, RAW], TEXT), content);
    const latin1 = Buffer.concat([Buffer.from('1\tcaf'), Buffer.from([0xe9]), Buffer.from('\t\\N\n')]);
    const message = Buffer.concat([Buffer.from([0x64, 0, 0, 0, 4 + latin1.length]), latin1]);
    expect(Buffer.concat(masker.push(message).map((m) => m.subarray(5)))).toEqual(latin1);
  });

  it('buffers a row split across CopyData messages', () => {
    const masker = createCopyMasker(plan([RAW, email], TEXT), content);
    const first = masker.push(copyData('1\tada@eng'));
    const second = masker.push(copyData('ines.example.com\n'));
    expect(payloads(first)).toBe('');
    expect(payloads(second)).toBe('1\t****\n');
    expect(masker.flush()).toEqual([]);
  });

  it('parses CSV with quoted delimiters and newlines inside quotes, and passes the header', () => {
    const masker = createCopyMasker(plan([RAW, email], CSV), content);
    const out = [
      ...masker.push(copyData('id,email\n')),
      ...masker.push(copyData('1,"ada@engines.example.com"\n2,"multi\nline, ""quoted"" turing.a@example')),
      ...masker.push(copyData('.net"\n3,\n')),
    ];
    expect(payloads(out)).toBe('id,email\n1,"****"\n2,"****"\n3,\n');
  });

  it('turns a masked value of a known non-text type into NULL', () => {
    const masker = createCopyMasker(plan([{ kind: 'mask-whole', reason: 't' }], TEXT, [23]), content);
    expect(payloads(masker.push(copyData('42\n')))).toBe('\\N\n');
  });

  it('masks a partial row left at CopyDone', () => {
    const masker = createCopyMasker(plan([email], TEXT), content);
    expect(masker.push(copyData('ada@engines.example.com'))).toEqual([]);
    expect(payloads(masker.flush())).toBe('****');
  });
});

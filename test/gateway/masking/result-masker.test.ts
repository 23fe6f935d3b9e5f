import { describe, expect, it } from 'vitest';
import { RAW, maskWhole, type ColumnMask } from '../../../gateway/masking/column-mask.ts';
import { createContentMasker } from '../../../gateway/content/detectors.ts';
import type { RowsPlan } from '../../../gateway/masking/mask-plan.ts';
import { createRowTransform, resolveFieldMasks, type ResultField } from '../../../gateway/masking/result-masker.ts';

const content = createContentMasker({ detectors: ['email', 'payment_card'] });
const none = createContentMasker({ detectors: [] });

function plan(masks: ColumnMask[], extra: Partial<RowsPlan> = {}): RowsPlan {
  return {
    kind: 'rows',
    columns: masks.map((mask, i) => ({ name: `c${i}`, mask })),
    fallback: RAW,
    origins: new Map(),
    relations: new Set(),
    messages: 'detect',
    ...extra,
  };
}

function field(i: number, dataTypeID = 25, format: 'text' | 'binary' = 'text', tableID = 0, columnID = 0): ResultField {
  return { name: `c${i}`, tableID, columnID, dataTypeID, format };
}

function dataRow(values: (string | Buffer | null)[]): Buffer {
  const cells = values.map((v) => {
    if (v === null) return Buffer.from([0xff, 0xff, 0xff, 0xff]);
    const b = typeof v === 'string' ? Buffer.from(v) : v;
    const len = Buffer.alloc(4);
    len.writeInt32BE(b.length);
    return Buffer.concat([len, b]);
  });
  const body = Buffer.concat(cells);
  const head = Buffer.alloc(7);
  head[0] = 0x44;
  head.writeInt32BE(6 + body.length, 1);
  head.writeInt16BE(values.length, 5);
  return Buffer.concat([head, body]);
}

function cells(row: Buffer): (string | null)[] {
  const out: (string | null)[] = [];
  const n = row.readInt16BE(5);
  let at = 7;
  for (let i = 0; i < n; i++) {
    const len = row.readInt32BE(at);
    at += 4;
    if (len < 0) out.push(null);
    else {
      out.push(row.toString('utf8', at, at + len));
      at += len;
    }
  }
  expect(row.readInt32BE(1)).toBe(row.length - 1);
  return out;
}

const cardColumn: ColumnMask = { kind: 'mask-column', keepLast: 4, column: 'public.customers.card_number' };

describe('row transform', () => {
  it('returns the very same Buffer when no cell changes', () => {
    const masker = createRowTransform(plan([RAW, RAW]), [field(0), field(1, 23)], content);
    const row = dataRow(['Ada Lovelace', '42']);
    expect(masker.transform(row)).toBe(row);
    expect(masker.counts).toEqual({ masked: 0, detected: 0 });
  });

  it('keeps the last four characters of a masked text column and counts it', () => {
    const masker = createRowTransform(plan([cardColumn, RAW]), [field(0), field(1)], content);
    expect(cells(masker.transform(dataRow(['378282246310005', 'x'])))).toEqual(['****0005', 'x']);
    expect(masker.counts.masked).toBe(1);
  });

  it('turns masked non-text values and masked binary values of non-text types into NULL', () => {
    const whole = maskWhole('test');
    const masker = createRowTransform(
      plan([whole, whole, whole]),
      [field(0, 23), field(1, 3802), field(2, 17, 'binary')],
      content,
    );
    expect(cells(masker.transform(dataRow(['12', '{"a":1}', Buffer.from([1, 2])])))).toEqual([null, null, null]);
  });

  it('keeps masked binary text as valid text', () => {
    const masker = createRowTransform(plan([maskWhole('t')]), [field(0, 25, 'binary')], content);
    expect(cells(masker.transform(dataRow(['secret'])))).toEqual(['****']);
  });

  it('runs the detectors over raw text and binary text values, leaving NULLs alone', () => {
    const masker = createRowTransform(plan([RAW, RAW, RAW]), [field(0), field(1, 1043, 'binary'), field(2)], content);
    expect(cells(masker.transform(dataRow(['mail ada@engines.example.com', 'card 5500005555555559', null])))).toEqual([
      'mail ****',
      'card ****',
      null,
    ]);
    expect(masker.counts.detected).toBe(2);
  });

  it('nulls a bytea or json value whose content holds a secret that cannot be rewritten in place', () => {
    const masker = createRowTransform(plan([RAW, RAW]), [field(0, 17), field(1, 3802)], content);
    const hex = `\\x${Buffer.from('ada@engines.example.com').toString('hex')}`;
    expect(cells(masker.transform(dataRow([hex, '{"e": "ada@engines.example.com"}'])))).toEqual([
      null,
      '{"e": "****"}',
    ]);
  });

  it('masks everything whole when the RowDescription is wider or narrower than the plan', () => {
    const masks = resolveFieldMasks(plan([RAW, cardColumn]), [field(0), field(1), field(2)]);
    expect(masks.map((m) => m.kind)).toEqual(['mask-whole', 'mask-whole', 'mask-whole']);
    expect(resolveFieldMasks(plan([RAW]), [field(0), field(1)]).map((m) => m.kind)).toEqual([
      'mask-whole',
      'mask-whole',
    ]);
  });

  it('gives every field the strictest planned mask when names are out of line, and keeps all-raw plans raw', () => {
    const renamed = resolveFieldMasks(plan([RAW, cardColumn]), [field(1), field(0)]);
    expect(renamed.map((m) => m.kind)).toEqual(['mask-column', 'mask-column']);
    const raw = resolveFieldMasks(plan([RAW, RAW]), [field(1), field(0)]);
    expect(raw.map((m) => m.kind)).toEqual(['raw', 'raw']);
  });

  it('masks a column whose catalog origin is masked or unknown even when the plan says raw', () => {
    const origins = new Map<string, ColumnMask>([['100:3', cardColumn]]);
    const masks = resolveFieldMasks(plan([RAW, RAW, RAW], { origins, relations: new Set([100]) }), [
      field(0, 25, 'text', 100, 3),
      field(1, 25, 'text', 200, 1),
      field(2),
    ]);
    expect(masks.map((m) => m.kind)).toEqual(['mask-column', 'mask-whole', 'raw']);
  });

  it('does nothing at all without detectors or masks', () => {
    const masker = createRowTransform(plan([RAW]), [field(0)], none);
    const row = dataRow(['ada@engines.example.com']);
    expect(masker.transform(row)).toBe(row);
  });

  it('masks every cell of a row whose width disagrees with the RowDescription', () => {
    const masker = createRowTransform(plan([RAW]), [field(0)], content);
    expect(cells(masker.transform(dataRow(['a', 'b'])))).toEqual([null, null]);
  });
});

/**
 * What happens to one output column. A value, so plans can be merged, compared and audited.
 *
 * `raw` is only ever the result of a proof (a plain reference to an unmasked column, or an
 * expression over such columns through known-pure functions); anything the analysis cannot
 * prove is `mask-whole`. Raw values still pass through the content detectors.
 */
export type ColumnMask =
  | { kind: 'raw' }
  | { kind: 'mask-column'; keepLast: number; column: string }
  /** `content`: masked only because the value may hide text from the content detectors, not for what it was computed from. */
  | { kind: 'mask-whole'; reason: string; content?: true };

export const RAW: ColumnMask = Object.freeze({ kind: 'raw' });

export function maskWhole(reason: string): ColumnMask {
  return { kind: 'mask-whole', reason };
}

/**
 * A value masked whole only because it could hide free text of unmasked columns from the
 * detectors (`reverse(notes)`): it says nothing about masked columns, so it may decide rows.
 */
export function maskContent(reason: string): ColumnMask {
  return { kind: 'mask-whole', reason, content: true };
}

/** Whether a mask says the value depends on masked (or untraceable) data, as opposed to only hiding free text. */
export function fromMaskedData(mask: ColumnMask): boolean {
  return mask.kind === 'mask-column' || (mask.kind === 'mask-whole' && mask.content !== true);
}

const RANK = { raw: 0, 'mask-column': 1, 'mask-whole': 2 } as const;

/** The stricter of two masks; two column masks keep the fewer characters; masked data outranks hidden text. */
export function stricter(a: ColumnMask, b: ColumnMask): ColumnMask {
  // Hidden text and masked data together: masked whole, and for masked data (it may not decide rows).
  if (a.kind === 'mask-whole' && a.content && b.kind === 'mask-column') return maskWhole(a.reason);
  if (b.kind === 'mask-whole' && b.content && a.kind === 'mask-column') return maskWhole(b.reason);
  if (RANK[a.kind] !== RANK[b.kind]) return RANK[a.kind] > RANK[b.kind] ? a : b;
  if (a.kind === 'mask-column' && b.kind === 'mask-column') return a.keepLast <= b.keepLast ? a : b;
  if (a.kind === 'mask-whole' && b.kind === 'mask-whole' && a.content && !b.content) return b;
  return a;
}

export function strictest(masks: Iterable<ColumnMask>, empty: ColumnMask = RAW): ColumnMask {
  let out: ColumnMask | undefined;
  for (const m of masks) out = out ? stricter(out, m) : m;
  return out ?? empty;
}

/** A value computed from a masked column is no longer that column: it is masked whole. */
export function derived(mask: ColumnMask, what: string): ColumnMask {
  if (mask.kind === 'mask-column') return maskWhole(`${what} over masked column ${mask.column}`);
  return mask;
}

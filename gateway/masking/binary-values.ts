/**
 * Text inside binary-format values of container types (arrays, records), for the content
 * detectors. A binary array or record puts each element's length right before its bytes, and
 * that length byte can glue onto the text (a card number preceded by '5' is no longer a card
 * number), so the elements are taken out one by one instead of scanning the value whole.
 */

const TEXT_OIDS: ReadonlySet<number> = new Set([25, 1043, 1042, 19, 705, 114, 142]);
const JSONB_OID = 3802;
const MAX_DEPTH = 8;

/** The texts to scan in a binary value of type `typeOid`; the whole value as text when its layout is not an array or record. */
export function binaryValueTexts(value: Buffer, typeOid: number, secretFree: ReadonlySet<number>): string[] {
  const texts: string[] = [];
  if (!element(value, typeOid, secretFree, texts, 0)) return [value.toString('latin1')];
  return texts;
}

function element(
  value: Buffer,
  typeOid: number,
  secretFree: ReadonlySet<number>,
  texts: string[],
  depth: number,
): boolean {
  if (TEXT_OIDS.has(typeOid)) return texts.push(value.toString('utf8')) > 0;
  if (typeOid === JSONB_OID) return texts.push(value.toString('utf8', 1)) > 0;
  if (secretFree.has(typeOid)) return true;
  if (depth >= MAX_DEPTH) return false;
  return (
    array(value, secretFree, texts, depth) ||
    record(value, secretFree, texts, depth) ||
    texts.push(value.toString('latin1')) > 0
  );
}

function array(value: Buffer, secretFree: ReadonlySet<number>, texts: string[], depth: number): boolean {
  if (value.length < 12) return false;
  const ndim = value.readInt32BE(0);
  const flags = value.readInt32BE(4);
  const elementType = value.readUInt32BE(8);
  if (ndim < 0 || ndim > 6 || (flags !== 0 && flags !== 1) || value.length < 12 + 8 * ndim) return false;
  let count = ndim === 0 ? 0 : 1;
  for (let d = 0; d < ndim; d++) count *= Math.max(0, value.readInt32BE(12 + 8 * d));
  return items(value, 12 + 8 * ndim, count, () => elementType, secretFree, texts, depth, false);
}

function record(value: Buffer, secretFree: ReadonlySet<number>, texts: string[], depth: number): boolean {
  if (value.length < 4) return false;
  const count = value.readInt32BE(0);
  if (count < 0 || count > 1664) return false;
  return items(value, 4, count, undefined, secretFree, texts, depth, true);
}

function items(
  value: Buffer,
  from: number,
  count: number,
  typeOf: (() => number) | undefined,
  secretFree: ReadonlySet<number>,
  texts: string[],
  depth: number,
  typed: boolean,
): boolean {
  const found: string[] = [];
  let at = from;
  for (let i = 0; i < count; i++) {
    let type = typeOf?.() ?? 0;
    if (typed) {
      if (at + 4 > value.length) return false;
      type = value.readUInt32BE(at);
      at += 4;
    }
    if (at + 4 > value.length) return false;
    const length = value.readInt32BE(at);
    at += 4;
    if (length < 0) continue;
    if (at + length > value.length) return false;
    if (!element(value.subarray(at, at + length), type, secretFree, found, depth + 1)) return false;
    at += length;
  }
  if (at !== value.length) return false;
  texts.push(...found);
  return true;
}

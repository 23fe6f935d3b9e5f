/** Fixed redaction text of a masked value, the same in every protocol's output. */
export const REDACTED = '****';

/** UTF-8 bytes of {@link REDACTED}, shared by every rebuilt row or body. */
export const REDACTED_BYTES: Buffer = Buffer.from(REDACTED, 'utf8');

/** The most characters a masking rule may leave visible: more would let a masked value be rebuilt. */
export const MAX_KEEP_LAST = 4;

/** Redacted text for a masked value, keeping at most `keepLast` characters, and none of a short value. */
export function redact(value: string, keepLast: number): string {
  const chars = [...value];
  if (keepLast <= 0 || chars.length <= keepLast * 2) return REDACTED;
  return REDACTED + chars.slice(-keepLast).join('');
}

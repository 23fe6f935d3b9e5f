/**
 * Collation ids a client may announce in its handshake: UTF-8 (utf8mb3, utf8mb4), latin1,
 * ascii and binary, whose quotes and backslashes are the bytes the lexer sees. Multi-byte sets
 * such as gbk, sjis or big5 could hide a quote inside a character, so they are refused.
 */
export function isSafeCollation(id: number): boolean {
  return (
    [5, 8, 11, 15, 31, 33, 45, 46, 47, 48, 49, 63, 65, 76, 83, 94].includes(id) ||
    (id >= 192 && id <= 215) ||
    id === 223 ||
    (id >= 224 && id <= 247) ||
    id >= 255
  );
}

import { nodeOf, stringOf } from './analysis-types.ts';
import type { CopyFormat } from './mask-plan.ts';

/** Why a COPY with options the masker cannot work with is refused. */
export const LINE_BREAK_OPTION =
  'COPY with a line break, letter, digit or * as DELIMITER, QUOTE or ESCAPE (or a line break in NULL) cannot be masked; use the defaults';

/**
 * Reads COPY options into a {@link CopyFormat}; `binary` and a non-UTF8 `ENCODING` are returned as bare strings.
 * `line-break-option`: DELIMITER/QUOTE/ESCAPE/NULL the masker cannot work with: a line break
 * (the server accepts one as QUOTE, and rows can no longer be told apart), or a letter, digit
 * or `*` as DELIMITER/QUOTE/ESCAPE (escaping a masked value's kept digits would repeat them).
 */
export function copyFormat(options: unknown[]): CopyFormat | 'binary' | 'foreign-encoding' | 'line-break-option' {
  const opts = new Map<string, string | true>();
  for (const o of options) {
    const d = nodeOf(o)?.[1];
    if (!d) continue;
    const arg = nodeOf(d.arg);
    const value = arg ? (stringOf(d.arg) ?? String(arg[1].ival ?? arg[1].boolval ?? '')) : true;
    opts.set(String(d.defname).toLowerCase(), value);
  }
  const fmt = String(
    opts.get('format') ?? (opts.get('binary') === true ? 'binary' : opts.get('csv') === true ? 'csv' : 'text'),
  ).toLowerCase();
  if (fmt === 'binary') return 'binary';
  const encoding = opts.get('encoding');
  if (typeof encoding === 'string' && !['utf8', 'utf-8', 'unicode'].includes(encoding.toLowerCase()))
    return 'foreign-encoding';
  const csv = fmt === 'csv';
  const str = (key: string, dflt: string) => (typeof opts.get(key) === 'string' ? (opts.get(key) as string) : dflt);
  const quote = str('quote', '"');
  const header = opts.get('header');
  const format: CopyFormat = {
    format: csv ? 'csv' : 'text',
    delimiter: str('delimiter', csv ? ',' : '\t'),
    quote,
    escape: str('escape', quote),
    null: str('null', csv ? '' : '\\N'),
    header: header === true || (typeof header === 'string' && !['false', 'off', '0'].includes(header.toLowerCase())),
  };
  if (
    [format.delimiter, format.quote, format.escape].some((v) => /[\r\n0-9A-Za-z*]/.test(v)) ||
    /[\r\n]/.test(format.null)
  )
    return 'line-break-option';
  return format;
}

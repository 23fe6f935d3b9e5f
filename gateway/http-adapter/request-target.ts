import { refuse, type Checked } from './refusal.ts';

/** One `key=value` of the query string, percent-decoded (`+` as space), in the order sent. */
export interface QueryParam {
  key: string;
  value: string;
}

/**
 * A request target the gateway can reason about. Policy matches `segments` (fully decoded); the
 * target receives `path` and `query` — the same names, re-encoded one way — so what the rule saw
 * is what the server routes on.
 */
export interface RequestTarget {
  /** Canonical encoded path sent to the target: unreserved characters decoded, every other escape upper-case. */
  path: string;
  /** Decoded path segments: never contain `/`, `\`, NUL, or consist of dots only. */
  segments: readonly string[];
  /** `/` + segments joined by `/`: what `when.http.path` globs match. */
  decodedPath: string;
  /** Decoded query parameters (policy facts, recording). */
  query: readonly QueryParam[];
  /** The query string as sent (validated, not re-encoded), without `?`; empty when none. */
  rawQuery: string;
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;
/** pchar minus `;` (matrix parameters: some servers cut a segment there, `/admin;x` routing as `/admin`). */
const PCHAR = /[A-Za-z0-9\-._~!$&'()*+,=:@]/;
const HEX = /^[0-9A-Fa-f]{2}$/;
/** Characters some servers fold into `/`, `\` or `.` (NFKC, best-fit mappings). */
const LOOKALIKES = /[\u2215\u2044\u29f8\uff0f\uff3c\ufe68\uff0e\u2024\u2025\u2026]/;

/** Rails and Laravel run the method named here instead of the one the rule saw. */
const METHOD_OVERRIDE_KEY = '_method';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

const BAD_PATH = 'send a plain path: no dot segments, no empty segments, no encoded slashes or backslashes';

/**
 * Checks and canonicalises an origin-form request target (`/path?query`). Refused (400): other
 * forms (absolute, `*`, authority), a fragment, `..`/`.` segments raw or encoded (`%2e`, `..;`),
 * `//`, `%2F`, `\`/`%5C`, NUL and controls, bad or double escapes (`%252e`), overlong or invalid
 * UTF-8, look-alike slashes and dots, raw `;` — everything a server might route differently from
 * what the rule saw.
 */
export function checkRequestTarget(url: string): Checked<RequestTarget> {
  if (!url.startsWith('/'))
    return refuse(
      400,
      'http.target-form',
      'send the path only (origin-form, /path?query); absolute and * targets are refused',
    );
  if (url.includes('#')) return refuse(400, 'http.target-fragment', 'a request target must not carry a #fragment');
  const mark = url.indexOf('?');
  const rawPath = mark < 0 ? url : url.slice(0, mark);
  const rawQuery = mark < 0 ? '' : url.slice(mark + 1);
  const path = checkPath(rawPath);
  if (!path.ok) return path;
  const query = checkQuery(rawQuery);
  if (!query.ok) return query;
  const { encoded, segments } = path.value;
  return {
    ok: true,
    value: { path: encoded, segments, decodedPath: `/${segments.join('/')}`, query: query.value, rawQuery },
  };
}

function checkPath(rawPath: string): Checked<{ encoded: string; segments: string[] }> {
  if (rawPath.includes('\\')) return refuse(400, 'http.path-backslash', `the path holds a backslash; ${BAD_PATH}`);
  const parts = rawPath.slice(1).split('/');
  const segments: string[] = [];
  const encoded: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const last = i === parts.length - 1;
    if (part === '' && !(last && (i > 0 || parts.length === 1)))
      return refuse(400, 'http.path-empty-segment', `the path holds '//' (an empty segment); ${BAD_PATH}`);
    const segment = checkSegment(part);
    if (!segment.ok) return segment;
    segments.push(segment.value.decoded);
    encoded.push(segment.value.encoded);
  }
  if (segments[segments.length - 1] === '') segments.pop();
  return { ok: true, value: { encoded: `/${encoded.join('/')}`, segments } };
}

function checkSegment(part: string): Checked<{ decoded: string; encoded: string }> {
  if (part.includes(';'))
    return refuse(
      400,
      'http.path-semicolon',
      "the path holds ';' (a matrix parameter to some servers); encode it as %3B",
    );
  const bytes: number[] = [];
  let encoded = '';
  for (let i = 0; i < part.length; i++) {
    const ch = part[i]!;
    if (ch !== '%') {
      const code = ch.charCodeAt(0);
      if (code < 0x21 || code > 0x7e)
        return refuse(
          400,
          'http.path-character',
          'the path holds a raw control, space or non-ASCII character; percent-encode it',
        );
      bytes.push(code);
      encoded += PCHAR.test(ch) ? ch : `%${code.toString(16).toUpperCase().padStart(2, '0')}`;
      continue;
    }
    const hex = part.slice(i + 1, i + 3);
    if (!HEX.test(hex)) return refuse(400, 'http.path-escape', `'%${hex}' in the path is not a valid percent-escape`);
    const byte = parseInt(hex, 16);
    bytes.push(byte);
    const char = String.fromCharCode(byte);
    encoded += UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
    i += 2;
  }
  const decoded = decodeUtf8(bytes);
  if (decoded === null)
    return refuse(
      400,
      'http.path-encoding',
      'the path decodes to invalid or overlong UTF-8; send UTF-8 percent-encoded once',
    );
  const problem = segmentProblem(decoded);
  return problem
    ? refuse(400, problem.code, `${problem.what}; ${BAD_PATH}`)
    : { ok: true, value: { decoded, encoded } };
}

function segmentProblem(decoded: string): { code: string; what: string } | null {
  if (decoded.includes('/')) return { code: 'http.path-encoded-slash', what: 'the path holds an encoded slash (%2F)' };
  if (decoded.includes('\\')) return { code: 'http.path-backslash', what: 'the path holds an encoded backslash (%5C)' };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(decoded))
    return { code: 'http.path-character', what: 'the path decodes to a control character' };
  if (/%[0-9A-Fa-f]{2}/.test(decoded))
    return { code: 'http.path-double-encoding', what: 'the path is percent-encoded twice (%25XX)' };
  if (/^[.\s]*\.[.\s]*$/.test(decoded))
    return { code: 'http.path-traversal', what: "the path holds a '.' or '..' segment" };
  if (LOOKALIKES.test(decoded) || hasFoldingProblem(decoded))
    return { code: 'http.path-lookalike', what: 'the path holds a character some servers fold into / \\ or .' };
  return null;
}

function hasFoldingProblem(decoded: string): boolean {
  if (/^[\x20-\x7e]*$/.test(decoded)) return false;
  const folded = decoded.normalize('NFKC');
  return folded !== decoded && (/[/\\]/.test(folded) || /^[.\s]*\.[.\s]*$/.test(folded));
}

function decodeUtf8(bytes: number[]): string | null {
  if (bytes.every((b) => b < 0x80)) return String.fromCharCode(...bytes);
  try {
    return strictUtf8.decode(Uint8Array.from(bytes));
  } catch {
    return null;
  }
}

function checkQuery(rawQuery: string): Checked<QueryParam[]> {
  if (rawQuery === '') return { ok: true, value: [] };
  if (rawQuery.includes(';'))
    return refuse(400, 'http.query-semicolon', "the query holds ';' (a separator to some servers); encode it as %3B");
  const params: QueryParam[] = [];
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decodeQueryPart(eq < 0 ? pair : pair.slice(0, eq), false);
    const value = decodeQueryPart(eq < 0 ? '' : pair.slice(eq + 1), true);
    if (key === null || value === null)
      return refuse(
        400,
        'http.query-encoding',
        'the query holds a bad percent-escape, invalid UTF-8 or a control character in a key; encode it once, as UTF-8',
      );
    if (key.toLowerCase() === METHOD_OVERRIDE_KEY)
      return refuse(
        400,
        'http.method-override',
        'the _method query parameter is refused; send the real method instead',
      );
    params.push({ key, value });
  }
  return { ok: true, value: params };
}

/** Values may decode to line breaks (search text); keys may not, since they are policy facts. */
function decodeQueryPart(part: string, controlsAllowed: boolean): string | null {
  const bytes: number[] = [];
  for (let i = 0; i < part.length; i++) {
    const ch = part[i]!;
    if (ch === '%') {
      const hex = part.slice(i + 1, i + 3);
      if (!HEX.test(hex)) return null;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      const code = ch.charCodeAt(0);
      if (code < 0x21 || code > 0x7e) return null;
      bytes.push(ch === '+' ? 0x20 : code);
    }
  }
  const decoded = decodeUtf8(bytes);
  // eslint-disable-next-line no-control-regex
  if (decoded === null || (!controlsAllowed && /[\u0000-\u001f\u007f]/.test(decoded))) return null;
  return decoded;
}

/**
 * Why the gateway refuses a Kubernetes request before any policy runs: a value with the HTTP
 * status, a stable code and a message naming the rule and the fix (never a secret).
 */
export interface KubeRefusal {
  status: number;
  code: string;
  message: string;
}

export type KubeChecked<T> = { ok: true; value: T } | { ok: false; refusal: KubeRefusal };

export function kubeRefuse(status: number, code: string, message: string): { ok: false; refusal: KubeRefusal } {
  return { ok: false, refusal: { status, code, message } };
}

/** A request target the gateway and the API server read the same way. */
export interface KubePath {
  /** The path exactly as sent; already canonical, so it is forwarded unchanged. */
  path: string;
  /** Its segments (no empty, `.` or `..` segment, no escape). */
  segments: readonly string[];
  /** Query parameters in the order sent, decoded as Go's url.ParseQuery decodes them. */
  query: readonly [string, string][];
  /** The raw query string (without `?`), forwarded unchanged. */
  rawQuery: string;
}

/**
 * What a path segment may hold: RFC 3986 pchar without `%` and `;`. Kubernetes names never need
 * an escape (the API server itself refuses `%` and `/` in names), so any escape is an attempt to
 * make the gateway and the server route differently and is refused rather than decoded.
 */
const SEGMENT = /^[A-Za-z0-9\-._~!$&'()*+,=:@]+$/;
const QUERY = /^[A-Za-z0-9\-._~!$'()*+,=:@/?&%]*$/;
const ESCAPE = /%(?![0-9A-Fa-f]{2})/;

const FIX = 'send the path kubectl sends: no percent-escapes, no empty, "." or ".." segments';

function decodeQueryPart(part: string): string | null {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/**
 * Checks a Kubernetes request target (`/api/v1/...?...`) and splits it. Refused (400): another
 * target form, a fragment, `%` anywhere in the path (`%2F`, `%2e`, double escapes), `//`, `.` and
 * `..` segments, a trailing `/`, backslashes, non-ASCII and controls; in the query, `;` (Go drops
 * such pairs, so the gateway and the server would see different parameters) and bad escapes.
 */
export function checkKubePath(target: string): KubeChecked<KubePath> {
  if (!target.startsWith('/')) return kubeRefuse(400, 'k8s.target-form', 'send an origin-form target (/path?query)');
  if (target.includes('#')) return kubeRefuse(400, 'k8s.target-fragment', 'a request target has no #fragment');
  const mark = target.indexOf('?');
  const path = mark < 0 ? target : target.slice(0, mark);
  const rawQuery = mark < 0 ? '' : target.slice(mark + 1);
  if (path.includes('%')) return kubeRefuse(400, 'k8s.path-escape', `the path holds a percent-escape; ${FIX}`);
  const segments = path === '/' ? [] : path.slice(1).split('/');
  for (const segment of segments) {
    if (segment === '') return kubeRefuse(400, 'k8s.path-empty-segment', `the path holds '//' or ends in '/'; ${FIX}`);
    if (segment === '.' || segment === '..')
      return kubeRefuse(400, 'k8s.path-dot-segment', `the path holds '${segment}'; ${FIX}`);
    if (!SEGMENT.test(segment))
      return kubeRefuse(
        400,
        'k8s.path-character',
        `the path segment '${segment.slice(0, 64)}' holds a character Kubernetes paths never hold; ${FIX}`,
      );
  }
  if (!QUERY.test(rawQuery) || ESCAPE.test(rawQuery))
    return kubeRefuse(
      400,
      'k8s.query',
      'the query holds a character or escape the API server reads differently (;, a bad %-escape, a space)',
    );
  const query: [string, string][] = [];
  for (const pair of rawQuery === '' ? [] : rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decodeQueryPart(eq < 0 ? pair : pair.slice(0, eq));
    const value = decodeQueryPart(eq < 0 ? '' : pair.slice(eq + 1));
    if (key === null || value === null)
      return kubeRefuse(400, 'k8s.query', 'the query holds an escape that is not UTF-8');
    query.push([key, value]);
  }
  return { ok: true, value: { path, segments, query, rawQuery } };
}

/** The first value of a query parameter, as Go's `url.Values.Get`. */
export function queryValue(path: KubePath, key: string): string | undefined {
  return path.query.find(([k]) => k === key)?.[1];
}

/** Every value of a query parameter in order (`command=` of an exec). */
export function queryValues(path: KubePath, key: string): string[] {
  return path.query.filter(([k]) => k === key).map(([, v]) => v);
}

/** A Content-Type split into what decisions need: the media type and its charset. */
export interface MediaType {
  /** `type/subtype`, lower-case. */
  essence: string;
  /** The `charset` parameter, lower-case, when sent. */
  charset?: string;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]+$/;

/** Parses a Content-Type value; null when absent or not `type/subtype[; params]`. */
export function parseMediaType(header: string | undefined): MediaType | null {
  if (header === undefined) return null;
  const [head, ...params] = header.split(';');
  const essence = head!.trim().toLowerCase();
  if (!TOKEN.test(essence)) return null;
  let charset: string | undefined;
  for (const param of params) {
    const eq = param.indexOf('=');
    if (eq < 0) continue;
    if (param.slice(0, eq).trim().toLowerCase() === 'charset')
      charset = param
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1')
        .toLowerCase();
  }
  return charset === undefined ? { essence } : { essence, charset };
}

/** `application/json`, `application/problem+json`, `text/json`. */
export function isJsonType(essence: string): boolean {
  return essence === 'application/json' || essence === 'text/json' || essence.endsWith('+json');
}

/** A stream of JSON texts: NDJSON and JSON lines. */
export function isJsonSequenceType(essence: string): boolean {
  return essence === 'application/x-ndjson' || essence === 'application/jsonl' || essence === 'application/json-seq';
}

const TEXT_TYPES: ReadonlySet<string> = new Set([
  'application/xml',
  'application/javascript',
  'application/ecmascript',
  'application/x-www-form-urlencoded',
  'application/graphql',
  'application/yaml',
  'application/x-yaml',
  'application/toml',
  'application/sql',
  'application/csv',
]);

/** Text the content detectors can read as it streams: `text/*` (SSE included), XML, YAML and friends. */
export function isTextType(essence: string): boolean {
  return (
    essence.startsWith('text/') || essence.endsWith('+xml') || essence.endsWith('+yaml') || TEXT_TYPES.has(essence)
  );
}

/** UTF-8 (or its ASCII subset) is the only charset the maskers decode; others are refused. */
export function isUtf8Charset(charset: string | undefined): boolean {
  return charset === undefined || charset === 'utf-8' || charset === 'utf8' || charset === 'us-ascii';
}

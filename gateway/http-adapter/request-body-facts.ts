import type { HttpBodyFacts } from '../policy/actions-and-decisions.ts';
import { JsonScanner } from './json-scanner.ts';
import { isJsonType, isUtf8Charset, type MediaType } from './media-type.ts';

/** A request body as the adapter gathered it for a decision: at most the limit, and whether more was sent. */
export interface GatheredBody {
  bytes: Buffer;
  /** True when the body was longer than the gathering limit (only a prefix is held). */
  truncated: boolean;
  limit: number;
}

/** Scan limits for request bodies: duplicate keys refused, since parsers disagree on which value counts. */
const REQUEST_JSON_LIMITS = { maxTokenBytes: 1024 * 1024, maxDepth: 64, rejectDuplicateKeys: true } as const;

/**
 * The body facts of a request: its JSON value when the gateway can be sure the target reads the
 * same one (a JSON media type in UTF-8, no Content-Encoding, within the limit, strictly valid,
 * no repeated key, a single value), else `unreadable` with the reason.
 */
export function requestBodyFacts(
  body: GatheredBody | null,
  mediaType: MediaType | null,
  contentEncoding: string | undefined,
): HttpBodyFacts {
  if (body === null || (body.bytes.length === 0 && !body.truncated)) return { kind: 'none' };
  if (body.truncated) return { kind: 'unreadable', reason: `the body is larger than ${body.limit} bytes` };
  if (contentEncoding !== undefined && contentEncoding.trim().toLowerCase() !== 'identity')
    return { kind: 'unreadable', reason: `the body is compressed (${contentEncoding.slice(0, 20)})` };
  if (mediaType === null || !isJsonType(mediaType.essence))
    return { kind: 'unreadable', reason: `the body is not JSON (${mediaType?.essence ?? 'no Content-Type'})` };
  if (!isUtf8Charset(mediaType.charset))
    return { kind: 'unreadable', reason: `the body's charset ${mediaType.charset} is not UTF-8` };
  try {
    const scanner = new JsonScanner({}, REQUEST_JSON_LIMITS);
    scanner.write(body.bytes);
    scanner.end();
    return { kind: 'json', value: JSON.parse(body.bytes.toString('utf8')) };
  } catch (error) {
    const reason = error instanceof SyntaxError ? 'the body holds more than one JSON value' : (error as Error).message;
    return { kind: 'unreadable', reason };
  }
}

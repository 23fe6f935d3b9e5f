import type { Transform } from 'node:stream';
import zlib from 'node:zlib';
import { isUtf8 } from 'node:buffer';
import { MaskingStream } from '../ssh/masking-stream.ts';
import { JsonMaskingStream, type JsonFieldRule, type TextMasker } from './json-masker.ts';
import { isJsonSequenceType, isJsonType, isTextType, isUtf8Charset, parseMediaType } from './media-type.ts';
import type { HttpRefusal } from './refusal.ts';

/** A connection's masking for HTTP bodies, compiled once from the policy's `masking:` sections. */
export interface HttpMaskingRules {
  fields: readonly JsonFieldRule[];
  detectors: TextMasker;
  /** Media types (globs of `pass_content_types`) sent without masking: binary and other unreadable bodies. */
  passes(essence: string): boolean;
}

/** The target response as the plan needs it. */
export interface ResponseSummary {
  method: string;
  status: number;
  contentType?: string;
  contentEncoding?: string;
  contentLength?: string;
}

export type Decoding = 'gzip' | 'deflate' | 'br';

/**
 * How a response body reaches the job, decided from its head before any byte is sent: nothing to
 * send, as sent (a rule passes its type, or nothing is masked), masked (decoded first when
 * compressed), or refused with a 502 because the gateway could not mask it.
 */
export type BodyPlan =
  | { kind: 'empty' }
  | { kind: 'pass' }
  | { kind: 'mask'; masker: 'json' | 'text'; decode?: Decoding }
  | { kind: 'refuse'; refusal: HttpRefusal }
  /** No Content-Type: fine when the body turns out empty, refused otherwise. */
  | { kind: 'empty-or-refuse'; refusal: HttpRefusal };

const ASCII_COMPATIBLE = /^(?:utf-?8|us-ascii|iso-8859-\d{1,2}|windows-125\d|latin1)$/;

function unmaskable(what: string): HttpRefusal {
  return {
    status: 502,
    code: 'http.response-unmaskable',
    message: `the target answered with ${what}, which the gateway cannot mask; a masking rule must list it in pass_content_types to send it unmasked`,
  };
}

export function planResponseBody(response: ResponseSummary, rules: HttpMaskingRules): BodyPlan {
  const { status } = response;
  if (response.method === 'HEAD' || status < 200 || status === 204 || status === 304) return { kind: 'empty' };
  if (response.contentLength?.trim() === '0') return { kind: 'empty' };
  const media = parseMediaType(response.contentType);
  if (response.contentType === undefined)
    return { kind: 'empty-or-refuse', refusal: unmaskable('a body of no Content-Type') };
  if (media === null)
    return { kind: 'refuse', refusal: unmaskable(`Content-Type '${response.contentType.slice(0, 60)}'`) };
  if (rules.passes(media.essence)) return { kind: 'pass' };
  const json = isJsonType(media.essence) || isJsonSequenceType(media.essence);
  if (!json && !isTextType(media.essence))
    return { kind: 'refuse', refusal: unmaskable(`a body of type ${media.essence}`) };
  const readable = json
    ? isUtf8Charset(media.charset)
    : media.charset === undefined || ASCII_COMPATIBLE.test(media.charset);
  if (!readable) return { kind: 'refuse', refusal: unmaskable(`${media.essence} in charset ${media.charset}`) };
  const masking = rules.detectors.active || (json && rules.fields.length > 0);
  const decode = decodingOf(response.contentEncoding);
  if (decode === null)
    return {
      kind: 'refuse',
      refusal: unmaskable(
        `Content-Encoding '${(response.contentEncoding ?? '').slice(0, 40)}' (gzip, deflate and br are decoded)`,
      ),
    };
  if (!masking) return { kind: 'pass' };
  return decode
    ? { kind: 'mask', masker: json ? 'json' : 'text', decode }
    : { kind: 'mask', masker: json ? 'json' : 'text' };
}

/** undefined: not encoded; null: an encoding the gateway cannot decode (or a chain of them). */
function decodingOf(header: string | undefined): Decoding | undefined | null {
  const value = header?.trim().toLowerCase();
  if (value === undefined || value === '' || value === 'identity') return undefined;
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'deflate') return 'deflate';
  if (value === 'br') return 'br';
  return null;
}

/** The streams a masked body runs through, in order: the decoder, then the masker (whose tally the audit event reports). */
export function maskingStreams(
  plan: Extract<BodyPlan, { kind: 'mask' }>,
  rules: HttpMaskingRules,
): { streams: Transform[]; tally(): { fields: number; detected: number } } {
  const streams: Transform[] = [];
  if (plan.decode === 'gzip') streams.push(zlib.createGunzip());
  else if (plan.decode === 'deflate') streams.push(zlib.createInflate());
  else if (plan.decode === 'br') streams.push(zlib.createBrotliDecompress());
  if (plan.masker === 'json') {
    const masker = new JsonMaskingStream(rules.fields, rules.detectors);
    streams.push(masker);
    return { streams, tally: () => masker.tally };
  }
  const masker = new MaskingStream((text) => rules.detectors.maskText(text));
  streams.push(masker);
  return { streams, tally: () => ({ fields: 0, detected: masker.masked }) };
}

/** Decoded bodies larger than this are refused: a small compressed body must not expand without bound in memory. */
const MAX_WHOLE_DECODED_BYTES = 16 * 1024 * 1024;

/**
 * Masks a body read in full (the target announced a small Content-Length): decoded, masked and
 * returned in one piece, so the client gets it with a Content-Length in a single write. Throws
 * when the body cannot be decoded or is not what its type says, like the streaming path fails.
 */
export function maskWholeBody(
  plan: Extract<BodyPlan, { kind: 'mask' }>,
  rules: HttpMaskingRules,
  body: Buffer,
): { body: Buffer; tally: { fields: number; detected: number } } {
  const limit = { maxOutputLength: MAX_WHOLE_DECODED_BYTES };
  let plain = body;
  if (plan.decode === 'gzip') plain = zlib.gunzipSync(body, limit);
  else if (plan.decode === 'deflate') plain = zlib.inflateSync(body, limit);
  else if (plan.decode === 'br') plain = zlib.brotliDecompressSync(body, limit);
  if (plan.masker === 'json') {
    const masker = new JsonMaskingStream(rules.fields, rules.detectors);
    return { body: masker.maskWhole(plain), tally: masker.tally };
  }
  const encoding: BufferEncoding = isUtf8(plain) ? 'utf8' : 'latin1';
  const masked = rules.detectors.maskText(plain.toString(encoding));
  return {
    body: masked.count === 0 ? plain : Buffer.from(masked.text, encoding),
    tally: { fields: 0, detected: masked.count },
  };
}

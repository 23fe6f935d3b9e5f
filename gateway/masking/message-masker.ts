import type { ContentMasker } from '../content/detectors.ts';
import type { MessageRedaction } from './mask-plan.ts';
import type { MaskCounts } from './value-mask.ts';

/**
 * What replaces the message of a statement that touched masked data or ran code the gateway
 * cannot see into: any text PostgreSQL writes can carry a value (`operator does not exist:
 * <the token>` for `api_token::regoper`), so none of it is shown; the SQLSTATE stays.
 */
export function hiddenMessage(sqlstate: string | undefined): string {
  return `gatehouse: the message of a statement over masked data is hidden (SQLSTATE ${sqlstate ?? 'unknown'}); the session's audit log keeps it`;
}

const REDACTED_DETAIL = 'detail hidden by gatehouse: it can quote row values';

/** ErrorResponse/NoticeResponse fields whose text can carry data (message, detail, hint, context, internal query). */
const DATA_FIELDS = new Set(['M', 'D', 'H', 'W', 'q']);

/**
 * Masks the text fields of an ErrorResponse or NoticeResponse, keyed by their one-letter
 * protocol codes (S, C, M, D, H, W, q, ...). `detect`: the content detectors over every text;
 * `redact-values` and `redact-all` (the statement touched masked data, or ran opaque code): a
 * generic message with the same SQLSTATE and no other text. Returns the same object when nothing changes.
 */
export function maskNoticeOrError(
  fields: ReadonlyMap<string, string>,
  content: ContentMasker,
  redaction: MessageRedaction = 'detect',
  counts?: MaskCounts,
): ReadonlyMap<string, string> {
  if (redaction !== 'detect') {
    const out = new Map([...fields].filter(([code]) => !DATA_FIELDS.has(code)));
    out.set('M', hiddenMessage(fields.get('C')));
    if (counts) counts.masked++;
    return out;
  }
  let out: Map<string, string> | null = null;
  for (const [code, value] of fields) {
    if (!DATA_FIELDS.has(code)) continue;
    const detected = content.maskText(value);
    if (counts) counts.detected += detected.count;
    if (detected.text !== value) (out ??= new Map(fields)).set(code, detected.text);
  }
  return out ?? fields;
}

/** The fields with DETAIL replaced: an error's detail can quote a failing row. */
export function withoutDetail(fields: ReadonlyMap<string, string>): ReadonlyMap<string, string> {
  if (!fields.has('D')) return fields;
  return new Map([...fields].map(([code, value]) => [code, code === 'D' ? REDACTED_DETAIL : value]));
}

/**
 * The text of an error or notice for the audit log: its message with quoted values hidden and
 * the detectors applied (DETAIL, CONTEXT and the rest are not recorded). An unquoted value in the
 * message can remain: the audit store is for operators, and check runs show only the SQLSTATE.
 */
export function auditedMessage(fields: ReadonlyMap<string, string>, content: ContentMasker): string {
  const text = (fields.get('M') ?? '').replace(/"(?:[^"]|"")*"/g, '"****"').replace(/\)=\([^)]*\)/g, ')=(****)');
  return content.maskText(text).text;
}

/** Reads the fields of an ErrorResponse ('E') or NoticeResponse ('N') message. */
export function parseNoticeFields(message: Buffer): Map<string, string> {
  const fields = new Map<string, string>();
  let at = 5;
  const end = 1 + message.readInt32BE(1);
  while (at < end && message[at] !== 0) {
    const code = String.fromCharCode(message[at]!);
    const stop = message.indexOf(0, at + 1);
    if (stop < 0) break;
    fields.set(code, message.toString('utf8', at + 1, stop));
    at = stop + 1;
  }
  return fields;
}

function encodeNotice(type: number, fields: ReadonlyMap<string, string>): Buffer {
  const parts = [...fields].map(([code, value]) => Buffer.from(`${code}${value.replace(/\0/g, '')}\0`, 'utf8'));
  const body = Buffer.concat([...parts, Buffer.from([0])]);
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = type;
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

/** Buffer-level {@link maskNoticeOrError}: returns the same Buffer when nothing changes. */
export function maskNoticeOrErrorMessage(
  message: Buffer,
  content: ContentMasker,
  redaction: MessageRedaction = 'detect',
  counts?: MaskCounts,
): Buffer {
  const fields = parseNoticeFields(message);
  const masked = maskNoticeOrError(fields, content, redaction, counts);
  return masked === fields ? message : encodeNotice(message[0]!, masked);
}

/** Encodes fields as an ErrorResponse ('E') or NoticeResponse ('N'). */
export function noticeMessage(type: number, fields: ReadonlyMap<string, string>): Buffer {
  return encodeNotice(type, fields);
}

/**
 * Masks a NotificationResponse ('A': pid, channel, payload). With `redact-all` (the session ran
 * opaque code while columns are masked) the payload is replaced whole.
 */
export function maskNotificationMessage(
  message: Buffer,
  content: ContentMasker,
  redaction: MessageRedaction = 'detect',
  counts?: MaskCounts,
): Buffer {
  const pid = message.readInt32BE(5);
  const channelEnd = message.indexOf(0, 9);
  const payloadEnd = message.indexOf(0, channelEnd + 1);
  if (channelEnd < 0 || payloadEnd < 0) return encodeNotification(pid, '', '');
  const channel = message.toString('utf8', 9, channelEnd);
  const payload = message.toString('utf8', channelEnd + 1, payloadEnd);
  let next: string;
  if (redaction === 'redact-all' && payload !== '') {
    next = '****';
    if (counts) counts.masked++;
  } else {
    const detected = content.maskText(payload);
    if (counts) counts.detected += detected.count;
    next = detected.text;
  }
  const nextChannel = content.maskText(channel).text;
  if (next === payload && nextChannel === channel) return message;
  return encodeNotification(pid, nextChannel, next);
}

function encodeNotification(pid: number, channel: string, payload: string): Buffer {
  const body = Buffer.from(`${channel}\0${payload}\0`, 'utf8');
  const out = Buffer.allocUnsafe(9 + body.length);
  out[0] = 0x41;
  out.writeInt32BE(8 + body.length, 1);
  out.writeInt32BE(pid, 5);
  body.copy(out, 9);
  return out;
}

/**
 * Masks a ParameterStatus ('S': name, value) with the detectors: a client can put any text into a
 * reported setting (`set_config('application_name', ...)`) and read it back from this message.
 */
export function maskParameterStatusMessage(message: Buffer, content: ContentMasker, counts?: MaskCounts): Buffer {
  const nameEnd = message.indexOf(0, 5);
  const valueEnd = nameEnd < 0 ? -1 : message.indexOf(0, nameEnd + 1);
  if (valueEnd < 0) return encodeParameterStatus('', '');
  const name = message.toString('utf8', 5, nameEnd);
  const value = message.toString('utf8', nameEnd + 1, valueEnd);
  const detected = content.maskText(value);
  if (counts) counts.detected += detected.count;
  if (detected.text === value) return message;
  return encodeParameterStatus(name, detected.text);
}

function encodeParameterStatus(name: string, value: string): Buffer {
  const body = Buffer.from(`${name}\0${value}\0`, 'utf8');
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = 0x53;
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

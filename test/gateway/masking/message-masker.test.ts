import { describe, expect, it } from 'vitest';
import { createContentMasker } from '../../../gateway/content/detectors.ts';
import {
  hiddenMessage,
  auditedMessage,
  maskNoticeOrError,
  maskNoticeOrErrorMessage,
  maskNotificationMessage,
  parseNoticeFields,
} from '../../../gateway/masking/message-masker.ts';

const content = createContentMasker({ detectors: ['email', 'us_ssn'] });

function notice(type: string, fields: Record<string, string>): Buffer {
  const body = Buffer.concat([...Object.entries(fields).map(([k, v]) => Buffer.from(`${k}${v}\0`)), Buffer.from([0])]);
  const head = Buffer.alloc(5);
  head[0] = type.charCodeAt(0);
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

describe('message masker', () => {
  it('runs the detectors over message, detail and hint', () => {
    const fields = new Map([
      ['S', 'ERROR'],
      ['C', '23505'],
      ['M', 'duplicate ada@engines.example.com'],
      ['D', 'Key (ssn)=(078-05-1120) already exists.'],
    ]);
    const out = maskNoticeOrError(fields, content);
    expect(out.get('M')).toBe('duplicate ****');
    expect(out.get('D')).toBe('Key (ssn)=(****) already exists.');
    expect(out.get('C')).toBe('23505');
  });

  it('returns the same message when nothing is found', () => {
    const frame = notice('N', { S: 'NOTICE', M: 'table created' });
    expect(maskNoticeOrErrorMessage(frame, content)).toBe(frame);
  });

  it('replaces the whole message, keeping only its SQLSTATE, when the statement touched masked data', () => {
    const frame = notice('E', {
      S: 'ERROR',
      C: '42883',
      M: 'operator does not exist: zq-7Hq2Lm9Xw4Pt',
      D: 'x',
      H: 'No operator matches the given name and argument types.',
      W: 'y',
      P: '8',
    });
    const fields = parseNoticeFields(maskNoticeOrErrorMessage(frame, content, 'redact-values'));
    expect(Object.fromEntries(fields)).toEqual({
      S: 'ERROR',
      C: '42883',
      P: '8',
      M: "gatehouse: the message of a statement over masked data is hidden (SQLSTATE 42883); the session's audit log keeps it",
    });
  });

  it('keeps the original for the audit log with quoted values hidden and the detectors applied', () => {
    const fields = new Map([
      ['M', 'invalid input syntax for type integer: "zq-7Hq2Lm9Xw4Pt" (mail ada@engines.example.com)'],
      ['D', 'Failing row contains (1, secret)'],
    ]);
    expect(auditedMessage(fields, content)).toBe('invalid input syntax for type integer: "****" (mail ****)');
  });

  it('replaces the whole text when the statement ran code the gateway cannot see into', () => {
    const frame = notice('N', {
      S: 'NOTICE',
      C: '00000',
      M: 'zq-7Hq2Lm9Xw4Pt',
      W: 'PL/pgSQL function leak() line 3 at RAISE',
    });
    const fields = parseNoticeFields(maskNoticeOrErrorMessage(frame, content, 'redact-all'));
    expect(fields.get('M')).toBe(hiddenMessage('00000'));
    expect(fields.has('W')).toBe(false);
  });

  it('masks notification payloads', () => {
    const body = Buffer.from('chan\0mail ada@engines.example.com\0');
    const frame = Buffer.alloc(9 + body.length);
    frame[0] = 0x41;
    frame.writeInt32BE(8 + body.length, 1);
    frame.writeInt32BE(77, 5);
    body.copy(frame, 9);
    const out = maskNotificationMessage(frame, content);
    expect(out.readInt32BE(5)).toBe(77);
    expect(out.subarray(9).toString()).toBe('chan\0mail ****\0');
    expect(out.readInt32BE(1)).toBe(out.length - 1);
    const whole = maskNotificationMessage(frame, content, 'redact-all');
    expect(whole.subarray(9).toString()).toBe('chan\0****\0');
  });
});

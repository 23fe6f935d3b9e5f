import { BACKEND } from './protocol-codes.ts';

/**
 * Builders for the few server messages the gateway writes itself (its own handshake and its
 * errors). Written by hand because pg-protocol only serializes frontend messages.
 */
function message(type: number, body: Buffer): Buffer {
  const header = Buffer.allocUnsafe(5);
  header[0] = type;
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

function cstring(text: string): Buffer {
  return Buffer.from(`${text}\0`, 'utf8');
}

function int32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(value);
  return b;
}

export interface NoticeFields {
  severity: 'ERROR' | 'FATAL' | 'NOTICE' | 'WARNING' | 'INFO';
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  /** 1-based character offset into the statement (a syntax error's caret). */
  position?: string;
}

function fields(f: NoticeFields): Buffer {
  const parts = [cstring(`S${f.severity}`), cstring(`V${f.severity}`), cstring(`C${f.code}`), cstring(`M${f.message}`)];
  if (f.detail) parts.push(cstring(`D${f.detail}`));
  if (f.hint) parts.push(cstring(`H${f.hint}`));
  if (f.position) parts.push(cstring(`P${f.position}`));
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export const backendMessages = {
  errorResponse: (f: Omit<NoticeFields, 'severity'> & { severity?: 'ERROR' | 'FATAL' }) =>
    message(BACKEND.errorResponse, fields({ severity: 'ERROR', ...f })),
  noticeResponse: (f: Omit<NoticeFields, 'severity'>) =>
    message(BACKEND.noticeResponse, fields({ severity: 'NOTICE', ...f })),
  authenticationOk: () => message(BACKEND.authentication, int32(0)),
  authenticationCleartextPassword: () => message(BACKEND.authentication, int32(3)),
  parameterStatus: (name: string, value: string) =>
    message(BACKEND.parameterStatus, Buffer.concat([cstring(name), cstring(value)])),
  backendKeyData: (pid: number, secret: number) =>
    message(BACKEND.backendKeyData, Buffer.concat([int32(pid), int32(secret)])),
  readyForQuery: (status: 'I' | 'T' | 'E') => message(BACKEND.readyForQuery, Buffer.from(status, 'latin1')),
  negotiateProtocolVersion: (minor: number, unsupported: string[]) =>
    message(
      BACKEND.negotiateProtocolVersion,
      Buffer.concat([int32(minor), int32(unsupported.length), ...unsupported.map(cstring)]),
    ),
};

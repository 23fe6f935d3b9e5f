import { malformed, PayloadReader } from './payload-reader.ts';
import { PayloadWriter } from './payload-writer.ts';

/** Markers of the packets exchanged during authentication (after the handshake response). */
export const AUTH = { OK: 0x00, MORE_DATA: 0x01, NEXT_FACTOR: 0x02, SWITCH: 0xfe, ERR: 0xff } as const;

/** The server asks the client to authenticate with another plugin (Protocol::AuthSwitchRequest). */
export interface AuthSwitchRequest {
  pluginName: string;
  /** Plugin data; for mysql_native_password the 20-byte scramble (a trailing NUL is stripped). */
  data: Buffer;
}

export function decodeAuthSwitchRequest(payload: Buffer): AuthSwitchRequest {
  const r = new PayloadReader(payload);
  if (r.int1() !== AUTH.SWITCH) throw malformed('auth switch request without its 0xFE header');
  const pluginName = r.nulString(true);
  let data = r.rest();
  if (data.at(-1) === 0) data = data.subarray(0, -1);
  return { pluginName, data };
}

export function encodeAuthSwitchRequest(request: AuthSwitchRequest, trailingNul = true): Buffer {
  const w = new PayloadWriter().int1(AUTH.SWITCH).nulString(request.pluginName).bytes(request.data);
  if (trailingNul) w.int1(0);
  return w.finish();
}

/** Extra plugin data from the server (caching_sha2_password's fast-auth result, its RSA key, ...). */
export function decodeAuthMoreData(payload: Buffer): Buffer {
  if (payload[0] !== AUTH.MORE_DATA) throw malformed('auth more-data without its 0x01 header');
  return payload.subarray(1);
}

export function encodeAuthMoreData(data: Buffer): Buffer {
  return new PayloadWriter(data.length + 1).int1(AUTH.MORE_DATA).bytes(data).finish();
}

import { secretsEqual } from '../identity/session-token.ts';

/** Largest first request head the local proxy reads while looking for the local password. */
export const MAX_LOCAL_HEAD_BYTES = 16 * 1024;

/** What the local proxy does with a new client connection's first bytes. */
export type LocalHttpAuthOutcome =
  { kind: 'continue' } | { kind: 'authenticated' } | { kind: 'rejected'; reason: string; response: string };

const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * Checks the per-session local password on the first request of a local HTTP client connection:
 * `Authorization: Bearer <password>`, `token <password>` (gh-style) or Basic with it as the password
 * (any user name; `curl -u x:$TOKEN`). Once the first request passes, the connection is the
 * client's: its bytes go to the gateway untouched, and the gateway strips the header anyway.
 * Buffers only, never sockets; works on whatever has arrived so far.
 */
export function checkLocalHttpAuth(buffered: Buffer, password: string): LocalHttpAuthOutcome {
  const end = buffered.indexOf(HEAD_END);
  if (end < 0) {
    if (buffered.length > MAX_LOCAL_HEAD_BYTES)
      return rejected(431, 'the request head is too large', 'send a request head under 16 KiB');
    return { kind: 'continue' };
  }
  const lines = buffered.subarray(0, end).toString('latin1').split('\r\n');
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim().toLowerCase() !== 'authorization') continue;
    if (presents(line.slice(colon + 1).trim(), password)) return { kind: 'authenticated' };
    return rejected(401, 'wrong local password', FIX);
  }
  return rejected(401, 'no local password', FIX);
}

const FIX =
  'send the local password (the <NAME>_TOKEN variable the Gatehouse action exports) as Authorization: Bearer <token>, or as the Basic password';

function presents(value: string, password: string): boolean {
  const space = value.indexOf(' ');
  if (space < 0) return false;
  const scheme = value.slice(0, space).toLowerCase();
  const credential = value.slice(space + 1).trim();
  if (scheme === 'bearer' || scheme === 'token') return secretsEqual(credential, password);
  if (scheme !== 'basic') return false;
  const pair = Buffer.from(credential, 'base64').toString('utf8');
  const colon = pair.indexOf(':');
  return colon >= 0 && secretsEqual(pair.slice(colon + 1), password);
}

function rejected(status: 401 | 431, reason: string, fix: string): LocalHttpAuthOutcome {
  const body = JSON.stringify({ error: { code: 'local.auth', message: `gatehouse local proxy: ${reason}; ${fix}` } });
  const phrase = status === 401 ? 'Unauthorized' : 'Request Header Fields Too Large';
  const challenge = status === 401 ? 'WWW-Authenticate: Bearer realm="gatehouse"\r\n' : '';
  return {
    kind: 'rejected',
    reason,
    response:
      `HTTP/1.1 ${status} ${phrase}\r\n${challenge}Content-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  };
}

import { secretsEqual } from '../identity/session-token.ts';
import { AUTH_PLUGIN, cachingSha2TokenMatches, nativeTokenMatches } from '../mysql/auth/auth-plugins.ts';
import { decodeHandshakeResponse41, decodeHandshakeV10, isSslRequest } from '../mysql/codec/handshake.ts';
import { encodeErr } from '../mysql/codec/responses.ts';
import { encodePacket } from '../mysql/codec/packet-framer.ts';

/** Whether the local client proved it holds the per-session local password, and why not. */
export type LocalMysqlCheck = { ok: true } | { ok: false; reason: string };

/**
 * The local proxy's check of a MySQL client: the gateway greets through the tunnel (its
 * scramble), the client answers with the local password hashed by its plugin (native,
 * caching_sha2 fast path) or in clear, and the proxy verifies that against the password it
 * made, in constant time. The gateway trusts the tunnel's Bearer token and ignores the answer.
 * Works on payloads only, never on sockets.
 */
export function checkLocalMysqlClient(greeting: Buffer, response: Buffer, password: string): LocalMysqlCheck {
  if (isSslRequest(response))
    return { ok: false, reason: 'TLS is not offered on the local listener (it is loopback only)' };
  let scramble: Buffer;
  let answer: ReturnType<typeof decodeHandshakeResponse41>;
  try {
    scramble = decodeHandshakeV10(greeting).scramble;
    answer = decodeHandshakeResponse41(response);
  } catch {
    return { ok: false, reason: 'a malformed handshake' };
  }
  const plugin = answer.authPluginName ?? AUTH_PLUGIN.native;
  const token = answer.authResponse;
  const matches =
    plugin === AUTH_PLUGIN.native
      ? nativeTokenMatches(token, password, scramble)
      : plugin === AUTH_PLUGIN.cachingSha2
        ? cachingSha2TokenMatches(token, password, scramble)
        : plugin === AUTH_PLUGIN.clear && secretsEqual(token.toString('utf8').replace(/\0$/, ''), password);
  return matches
    ? { ok: true }
    : {
        ok: false,
        reason: 'password authentication failed: use the password printed by gatehouse connect for this session',
      };
}

/** The ERR the local proxy answers a refused client with (sequence id after its handshake response). */
export function localMysqlRefusal(sequenceId: number, reason: string): Buffer {
  return encodePacket(sequenceId, encodeErr({ code: 1045, sqlState: '28000', message: `gatehouse connect: ${reason}` }))
    .bytes;
}

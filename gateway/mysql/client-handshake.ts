import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { AUTH_PLUGIN } from './auth/auth-plugins.ts';
import { encodeAuthSwitchRequest } from './codec/auth-messages.ts';
import { CAPABILITY, has } from './codec/capabilities.ts';
import {
  decodeHandshakeResponse41,
  decodeSslRequest,
  encodeHandshakeV10,
  isSslRequest,
  type HandshakeResponse41,
} from './codec/handshake.ts';
import { OFFERED_CAPABILITIES, OFFERED_MARIADB_CAPABILITIES } from './client-capabilities.ts';
import { PacketChannel } from './packet-channel.ts';

/** What the gateway tells a client about itself in its greeting. */
export interface GreetingOptions {
  /** The target's version (as its own greeting gave it), so clients pick the right dialect. */
  serverVersion: string;
  /** Whether the target is MariaDB (its extended capabilities are then offered). */
  mariadb: boolean;
  connectionId: number;
  characterSet: number;
  /** TLS for the client, when the gateway has a certificate and the stream is not a tunnel. */
  tls?: tls.SecureContextOptions;
}

/** A client that finished its side of the handshake, not yet answered with OK or ERR. */
export interface AcceptedClient {
  channel: PacketChannel;
  response: HandshakeResponse41;
  /** The client's capabilities within what the gateway offered. */
  capabilities: number;
  mariadbCapabilities: number;
  encrypted: boolean;
  scramble: Buffer;
}

/** A 20-byte scramble without NUL bytes (some clients treat the scramble as a C string). */
function newScramble(): Buffer {
  return Buffer.from(randomBytes(20).map((b) => (b % 94) + 33));
}

/**
 * The server side of the MySQL handshake: greets, takes an SSLRequest (TLS) and the
 * HandshakeResponse41, and keeps the client's capabilities within the offered set.
 */
export async function acceptClient(stream: Duplex, options: GreetingOptions): Promise<AcceptedClient> {
  const channel = new PacketChannel(stream, { maxPacketBytes: 1 << 16, timeoutMs: 30_000, peer: 'client' });
  const scramble = newScramble();
  const offered = options.tls ? (OFFERED_CAPABILITIES | CAPABILITY.SSL) >>> 0 : OFFERED_CAPABILITIES;
  channel.write(
    encodeHandshakeV10({
      serverVersion: options.serverVersion,
      connectionId: options.connectionId,
      scramble,
      capabilities: options.mariadb ? offered : (offered | CAPABILITY.LONG_PASSWORD) >>> 0,
      mariadbCapabilities: options.mariadb ? OFFERED_MARIADB_CAPABILITIES : 0,
      characterSet: options.characterSet,
      statusFlags: 2,
      authPluginName: AUTH_PLUGIN.native,
    }),
  );
  let packet = await channel.read();
  let encrypted = false;
  if (isSslRequest(packet.payload)) {
    decodeSslRequest(packet.payload);
    if (!options.tls)
      throw new GatehouseError('mysql.tls', 'the client asked for TLS, which this listener does not offer');
    const context = tls.createSecureContext(options.tls);
    await channel.upgrade((raw) => serverTls(raw, context));
    encrypted = true;
    packet = await channel.read();
  }
  const response = decodeHandshakeResponse41(packet.payload);
  // A capability is in force only when both sides set it: flags the gateway did not offer are masked off below.
  if (has(response.capabilities, CAPABILITY.SSL) && !encrypted)
    throw new GatehouseError('mysql.tls', 'the client claims TLS without having negotiated it');
  return {
    channel,
    response,
    capabilities: (response.capabilities & offered) >>> 0,
    mariadbCapabilities: (response.mariadbCapabilities & (options.mariadb ? OFFERED_MARIADB_CAPABILITIES : 0)) >>> 0,
    encrypted,
    scramble,
  };
}

/**
 * The client's password in clear: its first auth response when it used mysql_clear_password,
 * else what it answers to an auth switch to mysql_clear_password. The caller has checked that
 * the channel is TLS or loopback.
 */
export async function readClearPassword(client: AcceptedClient): Promise<string> {
  const { response, channel } = client;
  if (response.authPluginName === AUTH_PLUGIN.clear) return stripNul(response.authResponse);
  channel.write(encodeAuthSwitchRequest({ pluginName: AUTH_PLUGIN.clear, data: Buffer.alloc(0) }, false));
  const reply = await channel.read();
  return stripNul(reply.payload);
}

function stripNul(bytes: Buffer): string {
  return (bytes.at(-1) === 0 ? bytes.subarray(0, -1) : bytes).toString('utf8');
}

function serverTls(raw: Duplex, secureContext: tls.SecureContext): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = new tls.TLSSocket(raw as never, { isServer: true, secureContext });
    secure.once('secure', () => resolve(secure));
    secure.once('error', (error) =>
      reject(new GatehouseError('mysql.tls', `TLS with the client failed: ${error.message}`)),
    );
  });
}

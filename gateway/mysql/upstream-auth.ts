import { GatehouseError } from '../errors/gatehouse-error.ts';
import {
  AUTH_PLUGIN,
  cachingSha2Token,
  clearPassword,
  ed25519Signature,
  nativePasswordToken,
  rsaEncryptedPassword,
} from './auth/auth-plugins.ts';
import { AUTH, decodeAuthMoreData, decodeAuthSwitchRequest } from './codec/auth-messages.ts';
import { decodeErr, decodeOk, type OkPacket } from './codec/responses.ts';
import type { PacketChannel } from './packet-channel.ts';

/** What the gateway's side of authentication knows. */
export interface AuthCredentials {
  user: string;
  password: string;
  /** Whether the channel is TLS (the password may then be sent in clear for full authentication). */
  secure: boolean;
  /** The configured server key for RSA full authentication; requested from the server when absent. */
  serverPublicKey?: string;
  connection: string;
}

/** The first auth response for a plugin and scramble; throws for plugins the gateway does not speak. */
export function authResponseFor(plugin: string, scramble: Buffer, credentials: AuthCredentials): Buffer {
  switch (plugin) {
    case AUTH_PLUGIN.native:
    case '':
      return nativePasswordToken(credentials.password, scramble);
    case AUTH_PLUGIN.cachingSha2:
      return cachingSha2Token(credentials.password, scramble);
    case AUTH_PLUGIN.sha256:
      return credentials.secure ? clearPassword(credentials.password) : Buffer.from([1]);
    case AUTH_PLUGIN.clear:
      if (!credentials.secure)
        throw new GatehouseError(
          'mysql.target-auth',
          `the target asks for the password in clear (mysql_clear_password) over a connection without TLS; set sslmode: require on connection '${credentials.connection}'`,
        );
      return clearPassword(credentials.password);
    case AUTH_PLUGIN.ed25519:
      return ed25519Signature(credentials.password, scramble);
    default:
      throw new GatehouseError(
        'mysql.target-auth',
        `the target asks for authentication plugin '${plugin}', which the gateway does not speak; give the gateway's user mysql_native_password, caching_sha2_password or ed25519`,
      );
  }
}

const FAST_AUTH_OK = 3;
const PERFORM_FULL_AUTH = 4;
const REQUEST_PUBLIC_KEY = 2;

/**
 * Runs the server's side of the exchange after the handshake response until OK or ERR: auth
 * switches, caching_sha2_password's fast and full paths (clear over TLS, else RSA with the
 * configured or requested key), sha256_password's key exchange. Errors never carry the password.
 */
export async function completeAuthentication(
  channel: PacketChannel,
  plugin: string,
  scramble: Buffer,
  credentials: AuthCredentials,
): Promise<OkPacket> {
  let currentPlugin = plugin;
  let currentScramble = scramble;
  for (let step = 0; step < 8; step++) {
    const { payload } = await channel.read();
    switch (payload[0]) {
      case AUTH.OK:
        return decodeOk(payload, 0);
      case AUTH.ERR: {
        const err = decodeErr(payload);
        const denied = err.code === 1045 || err.code === 1698;
        throw new GatehouseError(
          denied ? 'mysql.target-auth' : 'mysql.target-error',
          denied
            ? `the target rejected the gateway's credentials for connection '${credentials.connection}' (${err.code}); check the connection's user and password`
            : `the target refused the connection: ${err.message} (${err.code})`,
        );
      }
      case AUTH.SWITCH: {
        const request = decodeAuthSwitchRequest(payload);
        currentPlugin = request.pluginName;
        currentScramble = request.data;
        channel.write(authResponseFor(currentPlugin, currentScramble, credentials));
        break;
      }
      case AUTH.MORE_DATA:
        await moreData(channel, decodeAuthMoreData(payload), currentPlugin, currentScramble, credentials);
        break;
      default:
        throw new GatehouseError(
          'mysql.target-protocol',
          `unexpected packet 0x${payload[0]?.toString(16)} from the target during authentication`,
        );
    }
  }
  throw new GatehouseError('mysql.target-protocol', 'the target kept authenticating for too many rounds');
}

async function moreData(
  channel: PacketChannel,
  data: Buffer,
  plugin: string,
  scramble: Buffer,
  credentials: AuthCredentials,
): Promise<void> {
  if (plugin === AUTH_PLUGIN.cachingSha2 && data.length === 1 && data[0] === FAST_AUTH_OK) return;
  const isKey = data.length > 1 && data.toString('latin1', 0, 10) === '-----BEGIN';
  if (plugin === AUTH_PLUGIN.cachingSha2 && data.length === 1 && data[0] === PERFORM_FULL_AUTH) {
    if (credentials.secure) return channel.write(clearPassword(credentials.password));
    if (credentials.serverPublicKey)
      return channel.write(rsaEncryptedPassword(credentials.password, scramble, credentials.serverPublicKey));
    return channel.write(Buffer.from([REQUEST_PUBLIC_KEY]));
  }
  if ((plugin === AUTH_PLUGIN.cachingSha2 || plugin === AUTH_PLUGIN.sha256) && isKey) {
    const key = credentials.serverPublicKey ?? data.toString('latin1');
    return channel.write(rsaEncryptedPassword(credentials.password, scramble, key));
  }
  throw new GatehouseError(
    'mysql.target-protocol',
    `unexpected authentication data from the target for plugin '${plugin}'`,
  );
}

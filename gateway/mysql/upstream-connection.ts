import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { CAPABILITY, has, MARIADB_CAPABILITY } from './codec/capabilities.ts';
import {
  decodeHandshakeV10,
  encodeHandshakeResponse41,
  encodeSslRequest,
  type HandshakeV10,
} from './codec/handshake.ts';
import { decodeErr } from './codec/responses.ts';
import { mysqlTargetAddress, type MysqlConnectionConfig } from './mysql-config.ts';
import { PacketChannel } from './packet-channel.ts';
import { authResponseFor, completeAuthentication } from './upstream-auth.ts';

/** What the client asked for that shapes the upstream session (after the gateway's allow-list). */
export interface UpstreamRequest {
  /** Client capabilities already filtered by the gateway's allow-list. */
  capabilities: number;
  mariadbCapabilities: number;
  characterSet: number;
  attributes: [string, string][];
  /** A schema the client named (instead of the connection URL's). */
  database?: string;
}

/** An authenticated connection to the target, ready for commands. */
export interface UpstreamConnection {
  socket: Duplex;
  greeting: HandshakeV10;
  /** The capabilities in force between the gateway and the target. */
  capabilities: number;
  mariadbCapabilities: number;
  statusFlags: number;
  host: string;
  port: number;
  /** Bytes the target sent after its OK (normally none). */
  leftover: Buffer;
}

/** Capabilities the gateway always uses with the target, whatever the client asked for. */
const GATEWAY_CAPABILITIES =
  CAPABILITY.PROTOCOL_41 |
  CAPABILITY.SECURE_CONNECTION |
  CAPABILITY.PLUGIN_AUTH |
  CAPABILITY.PLUGIN_AUTH_LENENC_CLIENT_DATA |
  CAPABILITY.TRANSACTIONS |
  CAPABILITY.MULTI_RESULTS |
  CAPABILITY.PS_MULTI_RESULTS |
  CAPABILITY.SESSION_TRACK |
  CAPABILITY.DEPRECATE_EOF |
  CAPABILITY.CONNECT_ATTRS |
  CAPABILITY.LONG_FLAG;

/** Client capabilities passed on to the target when the client asked for them. */
const FROM_CLIENT =
  CAPABILITY.FOUND_ROWS | CAPABILITY.IGNORE_SPACE | CAPABILITY.MULTI_STATEMENTS | CAPABILITY.INTERACTIVE;

const FROM_CLIENT_MARIADB = MARIADB_CAPABILITY.STMT_BULK_OPERATIONS;

/** The capability sets the gateway sends the target for a client request and a greeting. */
export function upstreamCapabilities(
  request: UpstreamRequest,
  greeting: HandshakeV10,
  tlsOn: boolean,
  withDb: boolean,
) {
  const mysql = has(greeting.capabilities, CAPABILITY.LONG_PASSWORD);
  let wanted = GATEWAY_CAPABILITIES | (request.capabilities & FROM_CLIENT);
  if (mysql) wanted |= CAPABILITY.LONG_PASSWORD;
  if (tlsOn) wanted |= CAPABILITY.SSL;
  if (withDb) wanted |= CAPABILITY.CONNECT_WITH_DB;
  return {
    capabilities: (wanted & greeting.capabilities) >>> 0,
    mariadbCapabilities: mysql
      ? 0
      : (request.mariadbCapabilities & FROM_CLIENT_MARIADB & greeting.mariadbCapabilities) >>> 0,
  };
}

/**
 * Connects and authenticates to the target with the gateway's credential (TLS per sslmode;
 * native, caching_sha2 incl. full auth, sha256, ed25519, auth switch). Called only after the
 * client's capabilities are known, because they shape the session. Errors never carry the password.
 */
export async function connectUpstream(
  config: MysqlConnectionConfig,
  request: UpstreamRequest,
  options: { connectTimeoutMs?: number; maxPacketBytes?: number } = {},
): Promise<UpstreamConnection> {
  const url = mysqlTargetAddress(config);
  const address = { ...url, database: request.database ?? url.database };
  const raw = await openSocket(address.host, address.port, options.connectTimeoutMs ?? 10_000);
  const channel = new PacketChannel(raw, {
    maxPacketBytes: options.maxPacketBytes ?? 1 << 24,
    timeoutMs: 10_000,
    peer: 'target',
  });
  try {
    const first = await channel.read();
    if (first.payload[0] === 0xff) {
      const err = decodeErr(first.payload);
      throw new GatehouseError('mysql.target-error', `the target refused the connection: ${err.message} (${err.code})`);
    }
    const greeting = decodeHandshakeV10(first.payload);
    const tlsOn = config.sslmode !== 'disable';
    if (tlsOn && !has(greeting.capabilities, CAPABILITY.SSL))
      throw new GatehouseError(
        'mysql.target-no-tls',
        `the target does not offer TLS but connection '${config.name}' has sslmode=${config.sslmode}; enable TLS on the server or set sslmode: disable`,
      );
    const caps = upstreamCapabilities(request, greeting, tlsOn, address.database !== undefined);
    const head = { ...caps, maxPacketSize: 1 << 30, characterSet: request.characterSet };
    if (tlsOn) {
      channel.write(encodeSslRequest(head));
      await channel.upgrade((stream) => secureToTarget(stream, config, address.host));
    }
    const ok = await authenticate(channel, greeting, config, { ...head, request, tlsOn, address });
    const { stream, leftover } = channel.detach();
    return {
      socket: stream,
      greeting,
      ...caps,
      statusFlags: ok.statusFlags,
      host: address.host,
      port: address.port,
      leftover,
    };
  } catch (error) {
    channel.stream.destroy();
    raw.destroy();
    throw error;
  }
}

/** Sends the handshake response with the gateway's credential and completes authentication. */
async function authenticate(
  channel: PacketChannel,
  greeting: HandshakeV10,
  config: MysqlConnectionConfig,
  head: ReturnType<typeof upstreamCapabilities> & {
    maxPacketSize: number;
    characterSet: number;
    request: UpstreamRequest;
    tlsOn: boolean;
    address: ReturnType<typeof mysqlTargetAddress>;
  },
) {
  const { request, tlsOn, address } = head;
  const credentials = {
    user: address.user,
    password: address.password,
    secure: tlsOn,
    serverPublicKey: config.serverPublicKey,
    connection: config.name,
  };
  const plugin = greeting.authPluginName || 'mysql_native_password';
  channel.write(
    encodeHandshakeResponse41({
      ...head,
      username: address.user,
      authResponse: authResponseFor(plugin, greeting.scramble, credentials),
      database: address.database,
      authPluginName: plugin,
      attributes: [
        ...request.attributes.filter(([k]) => !k.startsWith('_gatehouse')),
        ['_gatehouse_connection', config.name],
      ],
    }),
  );
  return completeAuthentication(channel, plugin, greeting.scramble, credentials);
}

function openSocket(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => socket.destroy(new Error('timeout')), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new GatehouseError(
          'mysql.target-unreachable',
          `the target database at ${host}:${port} cannot be reached (${error.code ?? error.message}); check that it is up and the connection's url`,
        ),
      );
    });
  });
}

function secureToTarget(stream: Duplex, config: MysqlConnectionConfig, host: string): Promise<tls.TLSSocket> {
  const verify = config.sslmode === 'verify-full';
  return new Promise((resolve, reject) => {
    const secure = tls.connect({
      socket: stream,
      servername: net.isIP(host) ? undefined : host,
      ca: config.ca,
      rejectUnauthorized: verify,
      checkServerIdentity: verify ? tls.checkServerIdentity : () => undefined,
    });
    secure.once('secureConnect', () => {
      secure.removeAllListeners('error');
      resolve(secure);
    });
    secure.once('error', (error) =>
      reject(
        new GatehouseError(
          'mysql.target-tls',
          `TLS to the target failed: ${error.message}; check the connection's ca and sslmode`,
        ),
      ),
    );
  });
}

/**
 * The version string the target greets with, read without authenticating (so the gateway's own
 * greeting can tell clients what they will talk to). Undefined when the target does not answer.
 */
export async function probeServerVersion(config: MysqlConnectionConfig, timeoutMs = 3000): Promise<string | undefined> {
  const address = mysqlTargetAddress(config);
  let socket: net.Socket | undefined;
  try {
    socket = await openSocket(address.host, address.port, timeoutMs);
    const channel = new PacketChannel(socket, { maxPacketBytes: 1 << 16, timeoutMs, peer: 'target' });
    const first = await channel.read();
    return first.payload[0] === 10 ? decodeHandshakeV10(first.payload).serverVersion : undefined;
  } catch {
    return undefined;
  } finally {
    socket?.destroy();
  }
}

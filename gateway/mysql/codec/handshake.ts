import { CAPABILITY, has } from './capabilities.ts';
import { malformed, PayloadReader } from './payload-reader.ts';
import { PayloadWriter } from './payload-writer.ts';

/** The server's greeting (Protocol::HandshakeV10). */
export interface HandshakeV10 {
  serverVersion: string;
  connectionId: number;
  /** The whole scramble (both parts, without the trailing NUL): 20 bytes on MySQL and MariaDB. */
  scramble: Buffer;
  capabilities: number;
  /** MariaDB's extended capabilities; 0 when the server is MySQL (it sets CLIENT_MYSQL). */
  mariadbCapabilities: number;
  characterSet: number;
  statusFlags: number;
  authPluginName: string;
}

/** Decodes a HandshakeV10; throws `mysql.malformed` (or on protocol versions other than 10). */
export function decodeHandshakeV10(payload: Buffer): HandshakeV10 {
  const r = new PayloadReader(payload);
  const protocol = r.int1();
  if (protocol !== 10) throw malformed(`handshake protocol version ${protocol} (only 10 is supported)`);
  const serverVersion = r.nulString();
  const connectionId = r.int4();
  const part1 = r.bytes(8);
  r.skip(1);
  let capabilities = r.int2();
  const characterSet = r.remaining > 0 ? r.int1() : 0;
  const statusFlags = r.remaining > 0 ? r.int2() : 0;
  capabilities = (capabilities | ((r.remaining > 0 ? r.int2() : 0) << 16)) >>> 0;
  const dataLength = r.remaining > 0 ? r.int1() : 0;
  r.skip(Math.min(6, r.remaining));
  const extended = r.remaining >= 4 ? r.int4() : 0;
  const mariadbCapabilities = has(capabilities, CAPABILITY.LONG_PASSWORD) ? 0 : extended;
  let part2: Buffer = Buffer.alloc(0);
  if (has(capabilities, CAPABILITY.SECURE_CONNECTION)) {
    const length = Math.max(13, dataLength - 8);
    part2 = r.bytes(Math.min(length, r.remaining));
    if (part2.at(-1) === 0) part2 = part2.subarray(0, -1);
  }
  const authPluginName = has(capabilities, CAPABILITY.PLUGIN_AUTH) ? r.nulString(true) : '';
  return {
    serverVersion,
    connectionId,
    scramble: Buffer.concat([part1, part2]),
    capabilities,
    mariadbCapabilities,
    characterSet,
    statusFlags,
    authPluginName,
  };
}

export function encodeHandshakeV10(h: HandshakeV10): Buffer {
  if (h.scramble.length < 8) throw new RangeError('a scramble has at least 8 bytes');
  const w = new PayloadWriter(128)
    .int1(10)
    .nulString(h.serverVersion)
    .int4(h.connectionId)
    .bytes(h.scramble.subarray(0, 8))
    .int1(0)
    .int2(h.capabilities & 0xffff)
    .int1(h.characterSet)
    .int2(h.statusFlags)
    .int2(h.capabilities >>> 16)
    .int1(has(h.capabilities, CAPABILITY.PLUGIN_AUTH) ? h.scramble.length + 1 : 0)
    .zeros(6)
    .int4(has(h.capabilities, CAPABILITY.LONG_PASSWORD) ? 0 : h.mariadbCapabilities);
  if (has(h.capabilities, CAPABILITY.SECURE_CONNECTION)) {
    const part2 = h.scramble.subarray(8);
    w.bytes(part2).zeros(Math.max(1, 13 - part2.length));
  }
  if (has(h.capabilities, CAPABILITY.PLUGIN_AUTH)) w.nulString(h.authPluginName);
  return w.finish();
}

/** The client's answer (Protocol::HandshakeResponse41), or the first 32 bytes of it as an SSLRequest. */
export interface HandshakeResponse41 {
  capabilities: number;
  mariadbCapabilities: number;
  maxPacketSize: number;
  characterSet: number;
  username: string;
  authResponse: Buffer;
  database?: string;
  authPluginName?: string;
  attributes: [string, string][];
  /** MySQL 8's zstd level (when CLIENT_ZSTD_COMPRESSION_ALGORITHM is set). */
  zstdLevel?: number;
}

/** An SSLRequest is exactly the fixed 32-byte head of a HandshakeResponse41 with CLIENT_SSL. */
export function isSslRequest(payload: Buffer): boolean {
  return payload.length === 32 && has(payload.readUInt32LE(0), CAPABILITY.SSL);
}

function decodeHead(
  r: PayloadReader,
): Pick<HandshakeResponse41, 'capabilities' | 'mariadbCapabilities' | 'maxPacketSize' | 'characterSet'> {
  const capabilities = r.int4();
  if (!has(capabilities, CAPABILITY.PROTOCOL_41))
    throw malformed('a handshake response without CLIENT_PROTOCOL_41 (pre-4.1 clients are not supported)');
  const maxPacketSize = r.int4();
  const characterSet = r.int1();
  r.skip(19);
  const extended = r.int4();
  return {
    capabilities,
    mariadbCapabilities: has(capabilities, CAPABILITY.LONG_PASSWORD) ? 0 : extended,
    maxPacketSize,
    characterSet,
  };
}

export function decodeSslRequest(payload: Buffer): ReturnType<typeof decodeHead> {
  const r = new PayloadReader(payload);
  const head = decodeHead(r);
  r.end('an SSLRequest');
  return head;
}

export function decodeHandshakeResponse41(payload: Buffer): HandshakeResponse41 {
  const r = new PayloadReader(payload);
  const head = decodeHead(r);
  const caps = head.capabilities;
  const username = r.nulString();
  let authResponse: Buffer;
  if (has(caps, CAPABILITY.PLUGIN_AUTH_LENENC_CLIENT_DATA)) authResponse = r.lenencBytes();
  else if (has(caps, CAPABILITY.SECURE_CONNECTION)) authResponse = r.bytes(r.int1());
  else authResponse = r.nulBytes(true);
  const database = has(caps, CAPABILITY.CONNECT_WITH_DB) && r.remaining > 0 ? r.nulString(true) : undefined;
  const authPluginName = has(caps, CAPABILITY.PLUGIN_AUTH) && r.remaining > 0 ? r.nulString(true) : undefined;
  const attributes: [string, string][] = [];
  if (has(caps, CAPABILITY.CONNECT_ATTRS) && r.remaining > 0) {
    const block = new PayloadReader(r.lenencBytes());
    while (block.remaining > 0) attributes.push([block.lenencString(), block.lenencString()]);
  }
  const zstdLevel = has(caps, CAPABILITY.ZSTD_COMPRESSION_ALGORITHM) && r.remaining > 0 ? r.int1() : undefined;
  r.end('a handshake response');
  return { ...head, username, authResponse, database, authPluginName, attributes, zstdLevel };
}

function encodeHead(w: PayloadWriter, h: Omit<HandshakeResponse41, 'username' | 'authResponse' | 'attributes'>): void {
  w.int4(h.capabilities)
    .int4(h.maxPacketSize)
    .int1(h.characterSet)
    .zeros(19)
    .int4(has(h.capabilities, CAPABILITY.LONG_PASSWORD) ? 0 : h.mariadbCapabilities);
}

export function encodeSslRequest(
  h: Pick<HandshakeResponse41, 'capabilities' | 'mariadbCapabilities' | 'maxPacketSize' | 'characterSet'>,
): Buffer {
  const w = new PayloadWriter(32);
  encodeHead(w, { ...h, capabilities: (h.capabilities | CAPABILITY.SSL) >>> 0 });
  return w.finish();
}

export function encodeHandshakeResponse41(h: HandshakeResponse41): Buffer {
  const caps = h.capabilities;
  const w = new PayloadWriter(128);
  encodeHead(w, h);
  w.nulString(h.username);
  if (has(caps, CAPABILITY.PLUGIN_AUTH_LENENC_CLIENT_DATA)) w.lenencBytes(h.authResponse);
  else if (has(caps, CAPABILITY.SECURE_CONNECTION)) w.int1(h.authResponse.length).bytes(h.authResponse);
  else w.nulString(h.authResponse);
  if (has(caps, CAPABILITY.CONNECT_WITH_DB)) w.nulString(h.database ?? '');
  if (has(caps, CAPABILITY.PLUGIN_AUTH)) w.nulString(h.authPluginName ?? '');
  if (has(caps, CAPABILITY.CONNECT_ATTRS)) {
    const block = new PayloadWriter();
    for (const [key, value] of h.attributes) block.lenencString(key).lenencString(value);
    w.lenencBytes(block.finish());
  }
  if (has(caps, CAPABILITY.ZSTD_COMPRESSION_ALGORITHM)) w.int1(h.zstdLevel ?? 3);
  return w.finish();
}

import { constants, generateKeyPairSync, privateDecrypt, randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { cachingSha2TokenMatches } from '../../gateway/mysql/auth/auth-plugins.ts';
import { encodeAuthMoreData } from '../../gateway/mysql/codec/auth-messages.ts';
import { CAPABILITY } from '../../gateway/mysql/codec/capabilities.ts';
import { decodeHandshakeResponse41, encodeHandshakeV10, isSslRequest } from '../../gateway/mysql/codec/handshake.ts';
import { encodeErr, encodeOk } from '../../gateway/mysql/codec/responses.ts';
import { PacketChannel } from '../../gateway/mysql/packet-channel.ts';
import { selfSignedCertificate } from './self-signed.ts';

/**
 * A stand-in for MySQL 8's caching_sha2_password server side (MariaDB, the real server here,
 * has no such plugin), written from the plugin's documented exchange: the fast path checks the
 * scramble token; `fullAuth` answers "perform full authentication" and takes the password in
 * clear over TLS, or RSA-OAEP encrypted with its key (sent on request). It is checked against
 * mysql2's independent client implementation in its own test.
 */
export interface CachingSha2Server {
  port: number;
  publicKey: string;
  certificate: string;
  /** How each client authenticated: 'fast', 'tls', 'rsa'. */
  paths: string[];
  close(): Promise<void>;
}

export async function startCachingSha2Server(
  user: string,
  password: string,
  options: { fullAuth: boolean },
): Promise<CachingSha2Server> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const { cert, key } = selfSignedCertificate();
  const paths: string[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', () => socket.destroy());
    serve(socket).catch(() => socket.destroy());
  });

  async function serve(socket: net.Socket): Promise<void> {
    const channel = new PacketChannel(socket, { maxPacketBytes: 1 << 20, timeoutMs: 5000, peer: 'client' });
    const scramble = randomBytes(20).map((b) => b & 0x7f || 1);
    const caps =
      CAPABILITY.PROTOCOL_41 |
      CAPABILITY.SECURE_CONNECTION |
      CAPABILITY.PLUGIN_AUTH |
      CAPABILITY.PLUGIN_AUTH_LENENC_CLIENT_DATA |
      CAPABILITY.SSL |
      CAPABILITY.LONG_PASSWORD |
      CAPABILITY.CONNECT_WITH_DB |
      CAPABILITY.TRANSACTIONS |
      CAPABILITY.CONNECT_ATTRS |
      CAPABILITY.DEPRECATE_EOF |
      CAPABILITY.SESSION_TRACK;
    channel.write(
      encodeHandshakeV10({
        serverVersion: '8.0.36-standin',
        connectionId: 7,
        scramble: Buffer.from(scramble),
        capabilities: caps,
        mariadbCapabilities: 0,
        characterSet: 255,
        statusFlags: 2,
        authPluginName: 'caching_sha2_password',
      }),
    );
    let packet = await channel.read();
    let secure = false;
    if (isSslRequest(packet.payload)) {
      await channel.upgrade(
        (raw) =>
          new Promise((resolve) => {
            const s = new tls.TLSSocket(raw as net.Socket, {
              isServer: true,
              secureContext: tls.createSecureContext({ cert, key }),
            });
            s.once('secure', () => resolve(s));
          }),
      );
      secure = true;
      packet = await channel.read();
    }
    const response = decodeHandshakeResponse41(packet.payload);
    const okPacket = encodeOk(
      { header: 0, affectedRows: 0, lastInsertId: 0, statusFlags: 2, warnings: 0, info: '', sessionState: [] },
      0,
    );
    const deny = () =>
      channel.write(
        encodeErr({ code: 1045, sqlState: '28000', message: `Access denied for user '${response.username}'` }),
      );
    if (response.username !== user) return deny();
    if (!options.fullAuth) {
      if (!cachingSha2TokenMatches(response.authResponse, password, Buffer.from(scramble))) return deny();
      channel.write(encodeAuthMoreData(Buffer.from([3])));
      paths.push('fast');
      return channel.write(okPacket);
    }
    channel.write(encodeAuthMoreData(Buffer.from([4])));
    let reply = (await channel.read()).payload;
    if (secure) {
      paths.push('tls');
      return reply.toString('utf8') === `${password}\0` ? channel.write(okPacket) : deny();
    }
    if (reply.length === 1 && reply[0] === 2) {
      channel.write(encodeAuthMoreData(Buffer.from(publicPem)));
      reply = (await channel.read()).payload;
    }
    const plain = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING }, reply);
    const clear = Buffer.from(plain.map((b, i) => b ^ scramble[i % scramble.length]!));
    paths.push('rsa');
    return clear.toString('utf8') === `${password}\0` ? channel.write(okPacket) : deny();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    publicKey: publicPem,
    certificate: cert,
    paths,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { PacketFramer, type Packet } from '../mysql/codec/packet-framer.ts';
import { checkLocalMysqlClient, localMysqlRefusal } from './local-mysql-auth.ts';

const MAX_HANDSHAKE_BYTES = 64 * 1024;

/** Reads the first packet of a stream (without consuming later bytes: they are returned raw). */
function firstPacket(stream: Duplex): Promise<{ packet: Packet; raw: Buffer }> {
  return new Promise((resolve, reject) => {
    const framer = new PacketFramer(MAX_HANDSHAKE_BYTES);
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      let packets: Packet[];
      try {
        packets = framer.push(chunk);
      } catch (error) {
        return done(error as Error);
      }
      if (packets.length > 0) done(undefined, { packet: packets[0]!, raw: Buffer.concat(chunks) });
    };
    const onEnd = () => done(new Error('the stream closed during the MySQL handshake'));
    const done = (error?: Error, value?: { packet: Packet; raw: Buffer }) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.pause();
      if (error) reject(error);
      else resolve(value!);
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.resume();
  });
}

/**
 * One local MySQL client of `gatehouse connect`: the gateway's greeting comes through the tunnel,
 * the client's handshake response must prove the per-session local password, and only then is
 * it forwarded and the two streams piped. A wrong password gets an ERR and never reaches the gateway.
 */
export async function serveLocalMysql(
  client: net.Socket,
  openTunnel: () => Promise<Duplex>,
  password: string,
  log: (line: string) => void,
): Promise<void> {
  client.pause();
  const tunnel = await openTunnel();
  tunnel.on('error', () => client.destroy());
  client.on('close', () => tunnel.destroy());
  try {
    const greeting = await firstPacket(tunnel);
    client.write(greeting.raw);
    const response = await firstPacket(client);
    const check = checkLocalMysqlClient(greeting.packet.payload, response.packet.payload, password);
    if (!check.ok) {
      log(`refused a local MySQL client (${check.reason})`);
      client.end(localMysqlRefusal(response.packet.lastSequenceId + 1, check.reason));
      tunnel.destroy();
      return;
    }
    tunnel.write(response.raw);
  } catch (error) {
    log(`a local MySQL client failed its handshake: ${(error as Error).message}`);
    client.destroy();
    tunnel.destroy();
    return;
  }
  tunnel.on('close', () => client.end());
  client.pipe(tunnel);
  tunnel.pipe(client);
  client.resume();
  tunnel.resume();
}

import type { Duplex } from 'node:stream';
import { COMMAND, encodeStringCommand } from '../../../gateway/mysql/codec/commands.ts';
import { decodeColumnCount, decodeTextRow } from '../../../gateway/mysql/codec/result-rows.ts';
import { decodeErr } from '../../../gateway/mysql/codec/responses.ts';
import { PacketChannel } from '../../../gateway/mysql/packet-channel.ts';

/** Runs one text query on an authenticated stream (DEPRECATE_EOF framing) and returns its rows as strings. */
export async function queryRows(stream: Duplex, sql: string, leftover?: Buffer): Promise<(string | null)[][]> {
  const channel = new PacketChannel(stream, { maxPacketBytes: 1 << 26, timeoutMs: 5000, peer: 'target' });
  if (leftover?.length) stream.unshift(leftover);
  channel.nextSequenceId = 0;
  channel.write(encodeStringCommand(COMMAND.QUERY, sql));
  const first = (await channel.read()).payload;
  if (first[0] === 0xff) throw new Error(decodeErr(first).message);
  if (first[0] === 0x00) {
    channel.detach();
    return [];
  }
  const columns = decodeColumnCount(first);
  for (let i = 0; i < columns; i++) await channel.read();
  const rows: (string | null)[][] = [];
  for (;;) {
    const payload = (await channel.read()).payload;
    if (payload[0] === 0xfe && payload.length < 0xffffff) break;
    rows.push(decodeTextRow(payload, columns).map((v) => (v === null ? null : v.toString('utf8'))));
  }
  channel.detach();
  return rows;
}

import type { Duplex } from 'node:stream';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { COMMAND, encodeStringCommand } from './codec/commands.ts';
import { decodeColumnCount, decodeTextRow } from './codec/result-rows.ts';
import { decodeErr, isEofOrOk } from './codec/responses.ts';
import { PacketChannel } from './packet-channel.ts';

/**
 * Asks the server to report changes of sql_mode and character_set_client in every OK (session
 * tracking), so the gateway's lexer follows what the server does even when a procedure or a
 * dump's versioned comment changes them.
 */
export const TRACKING_SQL =
  "SET SESSION session_track_system_variables = CONCAT_WS(',', NULLIF(@@SESSION.session_track_system_variables, ''), 'sql_mode', 'character_set_client')";

/** The session's starting state, read from the server before the client's first command. */
export interface SessionStart {
  sqlMode: string;
  characterSetClient: string;
}

/** Runs the gateway's own statements on a fresh upstream session; returns its lexer-relevant state. */
export async function runSessionPrelude(
  socket: Duplex,
  leftover: Buffer,
): Promise<{ start: SessionStart; leftover: Buffer }> {
  if (leftover.length > 0) socket.unshift(leftover);
  const channel = new PacketChannel(socket, { maxPacketBytes: 1 << 20, timeoutMs: 10_000, peer: 'target' });
  await queryText(channel, TRACKING_SQL);
  const rows = await queryText(channel, 'SELECT @@SESSION.sql_mode, @@SESSION.character_set_client');
  const row = rows[0];
  if (!row) throw new GatehouseError('mysql.target-protocol', 'the target did not report its sql_mode');
  const detached = channel.detach();
  return { start: { sqlMode: row[0] ?? '', characterSetClient: row[1] ?? '' }, leftover: detached.leftover };
}

/** Runs one text query on a channel that speaks DEPRECATE_EOF with the target; returns its rows as text. */
export async function queryText(channel: PacketChannel, sql: string): Promise<(string | null)[][]> {
  channel.nextSequenceId = 0;
  channel.write(encodeStringCommand(COMMAND.QUERY, sql));
  const first = (await channel.read()).payload;
  if (first[0] === 0xff)
    throw new GatehouseError(
      'mysql.target-error',
      `the target refused the gateway's own query (session setup or catalog lookup): ${decodeErr(first).message}`,
    );
  if (first[0] === 0x00) return [];
  const columns = decodeColumnCount(first);
  for (let i = 0; i < columns; i++) await channel.read();
  const rows: (string | null)[][] = [];
  for (;;) {
    const payload = (await channel.read()).payload;
    if (isEofOrOk(payload)) return rows;
    rows.push(decodeTextRow(payload, columns).map((v) => (v === null ? null : v.toString('utf8'))));
  }
}

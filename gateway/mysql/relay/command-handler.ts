import { GatehouseError } from '../../errors/gatehouse-error.ts';
import { COMMAND, commandName, decodeIdCommand, decodeSendLongData, decodeStringCommand } from '../codec/commands.ts';
import { CURSOR, decodeBulkExecute, decodeStmtExecute } from '../codec/prepared-statements.ts';
import type { Packet } from '../codec/packet-framer.ts';
import type { MysqlRequest } from '../mysql-gate.ts';
import { binaryValueText } from './binary-params.ts';
import type { PreparedRegistry } from './prepared-registry.ts';

/** What the relay does with one client command. */
export type CommandPlan =
  | { kind: 'forward'; reply: 'generic' | 'prepare' | 'none'; request?: MysqlRequest; after?: 'reset' | 'close' }
  | { kind: 'refuse'; code: number; sqlState: string; message: string; close?: boolean }
  | { kind: 'quit' };

const refuse = (message: string, close = false): CommandPlan => ({
  kind: 'refuse',
  code: 1227,
  sqlState: '42000',
  message: `gatehouse: ${message}`,
  close,
});

/** Commands the gateway never carries: they act on the server or the session outside SQL the gateway can analyse. */
const REFUSED = new Set<number>([
  COMMAND.FIELD_LIST,
  COMMAND.CREATE_DB,
  COMMAND.DROP_DB,
  COMMAND.REFRESH,
  COMMAND.SHUTDOWN,
  COMMAND.STATISTICS,
  COMMAND.PROCESS_INFO,
  COMMAND.DEBUG,
  COMMAND.BINLOG_DUMP,
  COMMAND.BINLOG_DUMP_GTID,
  COMMAND.TABLE_DUMP,
  COMMAND.REGISTER_SLAVE,
  COMMAND.DAEMON,
  COMMAND.CLONE,
  COMMAND.MULTI,
  COMMAND.STMT_FETCH,
  COMMAND.PROCESS_KILL,
]);

/**
 * Turns one client command into a plan: which request the gate must decide (SQL analysed by
 * `analyze`), whether a reply follows, or a refusal. Prepared statements are resolved to the
 * SQL that was prepared through the gateway.
 */
export function planCommand(
  packet: Packet,
  analyze: (sql: string) => MysqlRequest['statements'],
  prepared: PreparedRegistry,
): CommandPlan {
  const code = packet.payload[0];
  if (code === undefined)
    throw new GatehouseError('mysql.malformed', 'an empty command packet; the connection is closed');
  switch (code) {
    case COMMAND.QUERY: {
      const sql = decodeStringCommand(packet.payload, code);
      return { kind: 'forward', reply: 'generic', request: { kind: 'query', sql, statements: analyze(sql) } };
    }
    case COMMAND.INIT_DB: {
      const sql = `USE \`${decodeStringCommand(packet.payload, code).replace(/`/g, '``')}\``;
      return { kind: 'forward', reply: 'generic', request: { kind: 'query', sql, statements: analyze(sql) } };
    }
    case COMMAND.STMT_PREPARE: {
      const sql = decodeStringCommand(packet.payload, code);
      return { kind: 'forward', reply: 'prepare', request: { kind: 'prepare', sql, statements: analyze(sql) } };
    }
    case COMMAND.STMT_EXECUTE:
    case COMMAND.STMT_BULK_EXECUTE:
      return planExecute(packet.payload, prepared);
    case COMMAND.STMT_SEND_LONG_DATA: {
      const data = decodeSendLongData(packet.payload);
      const statement = prepared.get(data.statementId);
      if (!statement) return refuse('COM_STMT_SEND_LONG_DATA for a statement not prepared through the gateway', true);
      statement.longData.add(data.parameter);
      return { kind: 'forward', reply: 'none' };
    }
    case COMMAND.STMT_CLOSE:
      prepared.delete(decodeIdCommand(packet.payload, code));
      return { kind: 'forward', reply: 'none' };
    case COMMAND.STMT_RESET:
      prepared.get(decodeIdCommand(packet.payload, code))?.longData.clear();
      return { kind: 'forward', reply: 'generic' };
    case COMMAND.PING:
    case COMMAND.SET_OPTION:
      return { kind: 'forward', reply: 'generic' };
    case COMMAND.RESET_CONNECTION:
      prepared.clear();
      return { kind: 'forward', reply: 'generic', after: 'reset' };
    case COMMAND.QUIT:
      return { kind: 'quit' };
    case COMMAND.CHANGE_USER:
      return refuse(
        'COM_CHANGE_USER is not allowed through the gateway (the gateway holds the credential); open a new connection',
        true,
      );
    default:
      if (REFUSED.has(code)) return refuse(`${commandName(code)} is not allowed through the gateway`);
      return refuse(`${commandName(code)} is not known to the gateway`, true);
  }
}

function planExecute(payload: Buffer, prepared: PreparedRegistry): CommandPlan {
  const id = payload.length >= 5 ? payload.readUInt32LE(1) : -1;
  const statement = prepared.get(id);
  if (!statement) return refuse(`statement ${id} was not prepared through the gateway`);
  let params: (string | null)[];
  if (payload[0] === COMMAND.STMT_EXECUTE) {
    const execute = decodeStmtExecute(payload, {
      paramCount: statement.paramCount,
      previousTypes: statement.types,
      longData: statement.longData,
    });
    if (execute.flags & (CURSOR.READ_ONLY | CURSOR.FOR_UPDATE | CURSOR.SCROLLABLE))
      return refuse('server-side cursors are not allowed through the gateway; execute without a cursor');
    statement.types = execute.types;
    params = execute.values.map((v, i) =>
      v === null ? null : v === 'long-data' ? '(long data)' : binaryValueText(execute.types[i]!, v),
    );
    statement.longData.clear();
  } else {
    const bulk = decodeBulkExecute(payload, statement.paramCount, statement.types);
    statement.types = bulk.types;
    const first = bulk.rows[0] ?? [];
    params = first.map((v, i) =>
      v === null ? null : typeof v === 'string' ? `(${v})` : binaryValueText(bulk.types[i]!, v),
    );
  }
  return {
    kind: 'forward',
    reply: 'generic',
    request: {
      kind: 'execute',
      statementId: statement.id,
      sql: statement.sql,
      statements: statement.statements,
      params,
    },
  };
}

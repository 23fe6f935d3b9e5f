import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../../../../gateway/errors/gatehouse-error.ts';
import { decodeAuthSwitchRequest, encodeAuthSwitchRequest } from '../../../../gateway/mysql/codec/auth-messages.ts';
import { CAPABILITY, SERVER_STATUS } from '../../../../gateway/mysql/codec/capabilities.ts';
import {
  decodeColumnDefinition,
  encodeColumnDefinition,
  type ColumnDefinition,
} from '../../../../gateway/mysql/codec/column-definition.ts';
import {
  decodeHandshakeResponse41,
  decodeHandshakeV10,
  decodeSslRequest,
  encodeHandshakeResponse41,
  encodeHandshakeV10,
  encodeSslRequest,
  isSslRequest,
} from '../../../../gateway/mysql/codec/handshake.ts';
import { PacketFramer } from '../../../../gateway/mysql/codec/packet-framer.ts';
import {
  decodeEof,
  decodeErr,
  decodeOk,
  decodeResultEnd,
  encodeErr,
  encodeOk,
  encodeResultEnd,
  systemVariableChange,
  type OkPacket,
} from '../../../../gateway/mysql/codec/responses.ts';

// Captured from MariaDB 10.11 and its `mariadb` client on this machine (wire bytes, headers included).
const GREETING =
  '640000000a352e352e352d31302e31312e31392d4d6172696144422d302b64656231327531000a0000007d676c6a4e2a237000fef72d0200ff81150000000000001d0000002e3353296f77296236234c37006d7973716c5f6e61746976655f70617373776f726400';
const CLIENT_RESPONSE =
  'bc00000184a2bf000000100021000000000000000000000000000000000000001d000000726f6f7400006d7973716c5f6e61746976655f70617373776f7264007f035f6f73054c696e75780c5f636c69656e745f6e616d650a6c69626d617269616462045f7069640533303633340f5f636c69656e745f76657273696f6e06332e332e3230095f706c6174666f726d067838365f36340c70726f6772616d5f6e616d65056d7973716c0c5f7365727665725f686f7374093132372e302e302e31';
const SELECT_1_REPLY =
  '0200000101011800000203646566000000013100000c3f000100000003810000000005000003fe0000020002000004013105000005fe00000200';

const payloadOf = (hex: string) => new PacketFramer(1 << 20).push(Buffer.from(hex, 'hex'))[0]!.payload;

describe('handshake', () => {
  it("decodes MariaDB's real greeting, its version, scramble and extended capabilities", () => {
    const h = decodeHandshakeV10(payloadOf(GREETING));
    expect(h.serverVersion).toBe('5.5.5-10.11.19-MariaDB-0+deb12u1');
    expect(h.scramble.length).toBe(20);
    expect(h.authPluginName).toBe('mysql_native_password');
    expect(h.capabilities & CAPABILITY.LONG_PASSWORD).toBe(0);
    expect(h.capabilities & CAPABILITY.DEPRECATE_EOF).toBe(CAPABILITY.DEPRECATE_EOF);
    expect(h.mariadbCapabilities).toBe(0x1d);
    expect(encodeHandshakeV10(h)).toEqual(payloadOf(GREETING));
  });

  it("decodes the mariadb client's real handshake response and encodes it back byte for byte", () => {
    const r = decodeHandshakeResponse41(payloadOf(CLIENT_RESPONSE));
    expect(r.username).toBe('root');
    expect(r.authResponse.length).toBe(0);
    expect(r.authPluginName).toBe('mysql_native_password');
    expect(r.mariadbCapabilities).toBe(0x1d);
    expect(Object.fromEntries(r.attributes).program_name).toBe('mysql');
    expect(encodeHandshakeResponse41(r)).toEqual(payloadOf(CLIENT_RESPONSE));
  });

  it('tells an SSLRequest from a handshake response and keeps its capabilities', () => {
    const head = {
      capabilities: CAPABILITY.PROTOCOL_41 | CAPABILITY.MULTI_STATEMENTS,
      mariadbCapabilities: 4,
      maxPacketSize: 1 << 24,
      characterSet: 45,
    };
    const ssl = encodeSslRequest(head);
    expect(isSslRequest(ssl)).toBe(true);
    expect(isSslRequest(payloadOf(CLIENT_RESPONSE))).toBe(false);
    expect(decodeSslRequest(ssl)).toEqual({ ...head, capabilities: head.capabilities | CAPABILITY.SSL });
  });

  it('refuses a pre-4.1 handshake response', () => {
    const old = Buffer.alloc(40);
    expect(() => decodeHandshakeResponse41(old)).toThrow(/PROTOCOL_41/);
  });
});

describe('generic responses', () => {
  const ok: OkPacket = {
    header: 0,
    affectedRows: 70000,
    lastInsertId: 2 ** 40,
    statusFlags: SERVER_STATUS.AUTOCOMMIT | SERVER_STATUS.SESSION_STATE_CHANGED,
    warnings: 2,
    info: 'Rows matched: 1',
    sessionState: [systemVariableChange('sql_mode', 'ANSI_QUOTES')],
  };

  it('round-trips an OK with session-state changes for a peer with SESSION_TRACK', () => {
    const caps = CAPABILITY.PROTOCOL_41 | CAPABILITY.SESSION_TRACK;
    const back = decodeOk(encodeOk(ok, caps), caps);
    expect(back).toEqual(ok);
    expect(back.sessionState[0]).toMatchObject({ name: 'sql_mode', value: 'ANSI_QUOTES' });
  });

  it('drops session state (and its status bit) for a peer without SESSION_TRACK', () => {
    const caps = CAPABILITY.PROTOCOL_41;
    const back = decodeOk(encodeOk(ok, caps), caps);
    expect(back.sessionState).toEqual([]);
    expect(back.statusFlags & SERVER_STATUS.SESSION_STATE_CHANGED).toBe(0);
    expect(back.info).toBe('Rows matched: 1');
  });

  it('re-frames the end of a result set between EOF and OK per side (DEPRECATE_EOF)', () => {
    const withEof = CAPABILITY.PROTOCOL_41;
    const withOk = CAPABILITY.PROTOCOL_41 | CAPABILITY.DEPRECATE_EOF;
    const fromServer = encodeResultEnd({ warnings: 1, statusFlags: SERVER_STATUS.MORE_RESULTS_EXISTS }, withOk);
    expect(fromServer[0]).toBe(0xfe);
    expect(fromServer.length).toBeGreaterThanOrEqual(7);
    const end = decodeResultEnd(fromServer, withOk);
    const classic = encodeResultEnd(end, withEof);
    expect(classic).toEqual(Buffer.from([0xfe, 1, 0, 8, 0]));
    expect(decodeEof(classic)).toEqual({ warnings: 1, statusFlags: 8 });
  });

  it('round-trips an ERR with its SQLSTATE', () => {
    const err = { code: 1142, sqlState: '42000', message: 'gatehouse: denied' };
    expect(decodeErr(encodeErr(err))).toEqual(err);
  });
});

describe('column definitions', () => {
  it("decodes the real server's definition of `SELECT 1`", () => {
    const packets = new PacketFramer(1 << 20).push(Buffer.from(SELECT_1_REPLY, 'hex'));
    expect(packets.map((p) => p.sequenceId)).toEqual([1, 2, 3, 4, 5]);
    // The client asked for MARIADB_CLIENT_EXTENDED_TYPE_INFO, so an (empty) extended block follows org_name.
    const c = decodeColumnDefinition(packets[1]!.payload, true);
    expect(c).toMatchObject({
      catalog: 'def',
      name: '1',
      type: 3,
      orgTable: '',
      orgName: '',
      characterSet: 63,
      extendedInfo: Buffer.alloc(0),
    });
  });

  it('round-trips names, types, flags and MariaDB extended type info', () => {
    const c: ColumnDefinition = {
      catalog: 'def',
      schema: 'app',
      table: 'c',
      orgTable: 'customers',
      name: 'mail',
      orgName: 'email',
      extendedInfo: Buffer.from('\x00\x04json', 'latin1'),
      characterSet: 45,
      columnLength: 1020,
      type: 253,
      flags: 1,
      decimals: 0,
      tail: Buffer.alloc(0),
    };
    expect(decodeColumnDefinition(encodeColumnDefinition(c), true)).toEqual(c);
  });
});

describe('auth switch', () => {
  it('round-trips a request and strips the trailing NUL of the scramble', () => {
    const data = Buffer.alloc(20, 7);
    expect(decodeAuthSwitchRequest(encodeAuthSwitchRequest({ pluginName: 'mysql_native_password', data }))).toEqual({
      pluginName: 'mysql_native_password',
      data,
    });
  });
});

describe('decoders on garbage', () => {
  const decoders: ((b: Buffer) => unknown)[] = [
    decodeHandshakeV10,
    decodeHandshakeResponse41,
    (b) => decodeOk(b, CAPABILITY.SESSION_TRACK),
    (b) => decodeOk(b, 0),
    decodeErr,
    decodeEof,
    (b) => decodeColumnDefinition(b),
    (b) => decodeColumnDefinition(b, true),
    decodeAuthSwitchRequest,
  ];

  it('fail only with mysql.malformed, never another exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(decoders.length - 1), (bytes, which) => {
        try {
          decoders[which]!(Buffer.from(bytes));
        } catch (error) {
          expect(error).toBeInstanceOf(GatehouseError);
          expect((error as GatehouseError).code).toBe('mysql.malformed');
        }
      }),
      { numRuns: 3000 },
    );
  });
});

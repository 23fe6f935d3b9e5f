import { CAPABILITY, has, SERVER_STATUS } from '../codec/capabilities.ts';
import { decodePrepareOk } from '../codec/prepared-statements.ts';
import { decodeColumnCount } from '../codec/result-rows.ts';
import {
  decodeOk,
  decodeResultEnd,
  encodeEof,
  encodeOk,
  encodeResultEnd,
  isEofOrOk,
  RESPONSE,
  type OkPacket,
} from '../codec/responses.ts';
import { malformed } from '../codec/payload-reader.ts';

/** What the relay learns from one server packet of a reply. */
export type ResponseEvent =
  /** The result set's column definitions, raw: decoded only by a relay that masks. */
  | { kind: 'columns'; definitions: Buffer[] }
  | { kind: 'row'; payload: Buffer }
  | { kind: 'ok'; ok: OkPacket }
  | { kind: 'error'; payload: Buffer }
  | { kind: 'prepared'; statementId: number; paramCount: number; columnCount: number }
  | { kind: 'done' };

/** The reply being read: a generic answer, a result set's columns or rows, or a prepare's definitions. */
type State =
  | { at: 'start' }
  | { at: 'columns'; left: number; definitions: Buffer[] }
  | { at: 'rows' }
  | { at: 'prepare-params'; left: number; columns: number }
  | { at: 'prepare-columns'; left: number }
  | { at: 'done' };

/**
 * Follows one command's reply from the server (which always speaks DEPRECATE_EOF and
 * SESSION_TRACK with the gateway) and re-frames it for the client's own capabilities: EOF
 * packets after column definitions and at the end of rows for clients without DEPRECATE_EOF,
 * session state dropped for clients without SESSION_TRACK. Pure: payloads in, payloads out.
 */
export class ResponseFramer {
  private state: State = { at: 'start' };
  private status = SERVER_STATUS.AUTOCOMMIT as number;

  constructor(
    private readonly serverCaps: number,
    private readonly clientCaps: number,
    private readonly prepare: boolean,
  ) {}

  get finished(): boolean {
    return this.state.at === 'done';
  }

  /** Feeds one server payload; returns the client payloads and what it meant. */
  push(payload: Buffer): { out: Buffer[]; event?: ResponseEvent } {
    const s = this.state;
    const classic = !has(this.clientCaps, CAPABILITY.DEPRECATE_EOF);
    switch (s.at) {
      case 'start':
        return this.start(payload);
      case 'columns': {
        s.definitions.push(payload);
        if (--s.left > 0) return { out: [payload] };
        this.state = { at: 'rows' };
        return {
          out: classic ? [payload, encodeEof({ warnings: 0, statusFlags: this.status })] : [payload],
          event: { kind: 'columns', definitions: s.definitions },
        };
      }
      case 'rows':
        if (payload[0] === RESPONSE.ERR) return this.error(payload);
        if (isEofOrOk(payload)) return this.endOfRows(payload);
        return { out: [payload], event: { kind: 'row', payload } };
      case 'prepare-params':
      case 'prepare-columns': {
        const out = [payload];
        if (--s.left === 0) {
          if (classic) out.push(encodeEof({ warnings: 0, statusFlags: this.status }));
          if (s.at === 'prepare-params' && s.columns > 0) this.state = { at: 'prepare-columns', left: s.columns };
          else this.state = { at: 'done' };
        }
        return { out, ...(this.finished ? { event: { kind: 'done' } as const } : {}) };
      }
      case 'done':
        throw malformed('the server sent more than its reply');
    }
  }

  private start(payload: Buffer): { out: Buffer[]; event?: ResponseEvent } {
    if (payload[0] === RESPONSE.ERR) return this.error(payload);
    if (this.prepare && payload[0] === 0x00) {
      const ok = decodePrepareOk(payload);
      if (ok.paramCount > 0) this.state = { at: 'prepare-params', left: ok.paramCount, columns: ok.columnCount };
      else if (ok.columnCount > 0) this.state = { at: 'prepare-columns', left: ok.columnCount };
      else this.state = { at: 'done' };
      return {
        out: [payload],
        event: {
          kind: 'prepared',
          statementId: ok.statementId,
          paramCount: ok.paramCount,
          columnCount: ok.columnCount,
        },
      };
    }
    if (payload[0] === RESPONSE.OK || payload[0] === RESPONSE.EOF) {
      const ok = decodeOk(payload, this.serverCaps);
      this.status = ok.statusFlags;
      if (!has(ok.statusFlags, SERVER_STATUS.MORE_RESULTS_EXISTS)) this.state = { at: 'done' };
      return { out: [encodeOk({ ...ok, header: 0 }, this.clientCaps)], event: { kind: 'ok', ok } };
    }
    if (payload[0] === RESPONSE.LOCAL_INFILE)
      throw malformed('the server asked for a client file, which the gateway never allows');
    this.state = { at: 'columns', left: decodeColumnCount(payload), definitions: [] };
    return { out: [payload] };
  }

  private endOfRows(payload: Buffer): { out: Buffer[]; event: ResponseEvent } {
    const end = decodeResultEnd(payload, this.serverCaps);
    this.status = end.statusFlags;
    this.state = has(end.statusFlags, SERVER_STATUS.MORE_RESULTS_EXISTS) ? { at: 'start' } : { at: 'done' };
    const ok: OkPacket = end.ok ?? {
      header: 0xfe,
      affectedRows: 0,
      lastInsertId: 0,
      statusFlags: end.statusFlags,
      warnings: end.warnings,
      info: '',
      sessionState: [],
    };
    return { out: [encodeResultEnd({ ...end, ok }, this.clientCaps)], event: { kind: 'ok', ok } };
  }

  private error(payload: Buffer): { out: Buffer[]; event: ResponseEvent } {
    this.state = { at: 'done' };
    return { out: [payload], event: { kind: 'error', payload } };
  }
}

import { SERVER_STATUS, has } from '../codec/capabilities.ts';
import { SESSION_TRACK, type OkPacket } from '../codec/responses.ts';
import { sqlModeFlags, type LexerMode } from '../sql/lexer-mode.ts';
import { GatehouseError } from '../../errors/gatehouse-error.ts';

/** Client character sets in which every byte the lexer sees means what it would in UTF-8 for quotes and backslashes. */
const SAFE_CHARSETS = /^(utf8|utf8mb3|utf8mb4|latin1|ascii|binary)$/i;

/**
 * The lexer mode of one session, kept current from what the server itself reports: sql_mode
 * and character_set_client through session tracking (the gateway asks for both), and the
 * NO_BACKSLASH_ESCAPES status bit of every OK.
 */
export class SessionMode {
  constructor(public mode: LexerMode) {}

  /** Applies an OK's session-state changes and status; throws when the client charset becomes unsafe. */
  apply(ok: OkPacket): void {
    for (const change of ok.sessionState) {
      if (change.type !== SESSION_TRACK.SYSTEM_VARIABLES || change.name === undefined) continue;
      const name = change.name.toLowerCase();
      if (name === 'sql_mode') this.mode = { ...this.mode, ...withoutUnsupported(sqlModeFlags(change.value ?? '')) };
      if (name === 'character_set_client') checkCharset(change.value ?? '');
    }
    const noBackslash = has(ok.statusFlags, SERVER_STATUS.NO_BACKSLASH_ESCAPES);
    if (noBackslash !== this.mode.noBackslashEscapes) this.mode = { ...this.mode, noBackslashEscapes: noBackslash };
  }
}

function withoutUnsupported(flags: ReturnType<typeof sqlModeFlags>): Partial<LexerMode> {
  return { ansiQuotes: flags.ansiQuotes, noBackslashEscapes: flags.noBackslashEscapes, unsupported: flags.unsupported };
}

/** A multi-byte client charset (gbk, sjis, big5, ...) can hide a quote inside a character; the session is closed. */
export function checkCharset(charset: string): void {
  if (!SAFE_CHARSETS.test(charset.trim()))
    throw new GatehouseError(
      'mysql.charset',
      `character_set_client ${charset} is not accepted: the gateway analyses statements as UTF-8, and multi-byte character sets could hide quotes from it; use utf8mb4`,
    );
}

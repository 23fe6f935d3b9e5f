import type { AuditEventRecord } from '../../store/store.ts';
import type { JournalHead } from './journal.ts';

/**
 * The journal's line format: one JSON object per line, so a torn last line (a crash in the middle
 * of a write) is recognisable and nothing before it is lost. An event line embeds the canonical
 * JSON its hash was computed over, so recovery re-hashes exactly the bytes that were chained.
 */
export type JournalLine = { kind: 'event'; record: AuditEventRecord } | { kind: 'checkpoint'; heads: JournalHead[] };

/** One event as a journal line (with its newline); `canonicalData` is `canonicalJson(record.data)`. */
export function eventLine(record: AuditEventRecord, canonicalData: string): string {
  return `{"k":"e","s":${JSON.stringify(record.sessionId)},"c":${JSON.stringify(record.chain ?? '')},"n":${record.seq},"t":${JSON.stringify(record.type)},"a":${JSON.stringify(record.at.toISOString())},"p":"${record.prevHash}","h":"${record.hash}","d":${canonicalData}}\n`;
}

/** The heads of every open chain, written first in each new segment. */
export function checkpointLine(heads: readonly JournalHead[]): string {
  return `${JSON.stringify({ k: 'cp', heads })}\n`;
}

/** Parses one line (without its newline); null when it is not a journal line. */
export function parseLine(text: string): JournalLine | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const line = value as Record<string, unknown>;
  if (line.k === 'cp' && Array.isArray(line.heads)) {
    const heads = line.heads.filter(isHead);
    return heads.length === line.heads.length ? { kind: 'checkpoint', heads } : null;
  }
  if (line.k !== 'e') return null;
  const { s, c, n, t, a, p, h, d } = line;
  if (typeof s !== 'string' || typeof c !== 'string' || typeof t !== 'string' || typeof a !== 'string') return null;
  if (typeof n !== 'number' || typeof p !== 'string' || typeof h !== 'string') return null;
  if (typeof d !== 'object' || d === null || Array.isArray(d)) return null;
  const at = new Date(a);
  if (Number.isNaN(at.getTime())) return null;
  const record: AuditEventRecord = {
    sessionId: s,
    seq: n,
    type: t,
    at,
    data: d as Record<string, unknown>,
    prevHash: p,
    hash: h,
  };
  if (c) record.chain = c;
  return { kind: 'event', record };
}

function isHead(value: unknown): value is JournalHead {
  if (typeof value !== 'object' || value === null) return false;
  const head = value as Record<string, unknown>;
  return (
    typeof head.chain === 'string' &&
    typeof head.sessionId === 'string' &&
    typeof head.seq === 'number' &&
    typeof head.hash === 'string' &&
    typeof head.at === 'string' &&
    typeof head.start === 'boolean'
  );
}

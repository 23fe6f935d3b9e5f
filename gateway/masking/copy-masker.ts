import { RAW, type ColumnMask } from './column-mask.ts';
import type { ContentMasker } from '../content/detectors.ts';
import type { CopyFormat, RowsPlan } from './mask-plan.ts';
import {
  BYTEA_OID,
  decodeByteaText,
  detectInBytes,
  detectInText,
  maskValue,
  type MaskCounts,
  type ValueOutcome,
} from './value-mask.ts';

/**
 * Masks COPY ... TO STDOUT data. Rows may be split across CopyData messages (or several rows
 * may share one), so complete rows are buffered before they are masked.
 */
export interface CopyMasker {
  /** Takes one CopyData message ('d' header included); returns the CopyData messages to send instead. */
  push(message: Buffer): Buffer[];
  /** At CopyDone: masks and returns whatever partial row is still buffered. */
  flush(): Buffer[];
  /** Payload-level `push`: CopyData content in, content to send out (may be empty while a row is incomplete). */
  pushPayload(data: Buffer): Buffer;
  /** Payload-level `flush`: the rest of a buffered row, or null. */
  flushPayload(): Buffer | null;
  counts: Readonly<MaskCounts>;
}

const NEWLINE = 0x0a;
const NEWLINE_BYTES = Buffer.from([NEWLINE]);

/** The COPY format assumed when the plan names none: PostgreSQL's text-format defaults. */
const DEFAULT_COPY_FORMAT: CopyFormat = {
  format: 'text',
  delimiter: '\t',
  quote: '"',
  escape: '"',
  null: '\\N',
  header: false,
};

/** What one COPY masker carries between CopyData messages: the unfinished row and where scanning stopped. */
interface CopyScanState {
  pending: Buffer;
  headerPending: boolean;
  quoteState: boolean;
  scanFrom: number;
}

/** Everything masking one COPY stream needs: its plan, content detection, format, counters and scan state. */
interface CopyMaskContext {
  plan: RowsPlan;
  content: ContentMasker;
  format: CopyFormat;
  counts: MaskCounts;
  state: CopyScanState;
}

export function createCopyMasker(plan: RowsPlan, content: ContentMasker): CopyMasker {
  const format: CopyFormat = plan.copy ?? { ...DEFAULT_COPY_FORMAT };
  const counts: MaskCounts = { masked: 0, detected: 0 };
  const state: CopyScanState = {
    pending: Buffer.alloc(0),
    headerPending: format.header,
    quoteState: false,
    scanFrom: 0,
  };
  const ctx: CopyMaskContext = { plan, content, format, counts, state };
  const idle =
    !content.active &&
    (plan.columns ?? []).every((c) => c.mask.kind === 'raw') &&
    plan.columns !== null &&
    plan.fallback.kind === 'raw';

  function pushPayload(data: Buffer): Buffer {
    if (idle) return data;
    state.pending = state.pending.length === 0 ? Buffer.from(data) : Buffer.concat([state.pending, data]);
    const rows = takeCopyRows(format, state);
    return rows.length > 0 ? maskCopyRows(ctx, rows) : Buffer.alloc(0);
  }

  function flushPayload(): Buffer | null {
    if (idle || state.pending.length === 0) return null;
    const rest = state.pending.toString('utf8');
    state.pending = Buffer.alloc(0);
    state.scanFrom = 0;
    return Buffer.from(maskCopyRow(ctx, rest), 'utf8');
  }

  return {
    counts,
    pushPayload,
    flushPayload,
    push(message) {
      if (idle) return [message];
      const out = pushPayload(message.subarray(5));
      return out.length === 0 ? [] : [copyData(out)];
    },
    flush() {
      const rest = flushPayload();
      return rest ? [copyData(rest)] : [];
    },
  };
}

/** Masks one COPY row (the first one is the header when the format has one). */
function maskCopyRow(ctx: CopyMaskContext, line: string): string {
  const { plan, format, state } = ctx;
  if (state.headerPending) {
    state.headerPending = false;
    return maskCopyHeader(ctx, line);
  }
  const fields = format.format === 'csv' ? splitCsv(line, format) : splitText(line, format);
  const plannedCols = plan.columns;
  const aligned = plannedCols !== null && plannedCols.length === fields.length;
  const out = fields.map(({ value: f }, i) => {
    if (f === null) return null;
    const mask: ColumnMask = aligned
      ? plannedCols[i]!.mask
      : plannedCols === null
        ? plan.fallback
        : { kind: 'mask-whole', reason: 'COPY row does not match the analysed columns' };
    const typeOid = aligned ? plannedCols[i]!.typeOid : undefined;
    return maskCopyValue(ctx, f, mask, typeOid);
  });
  return format.format === 'csv' ? joinCsv(out, fields, format) : joinText(out, fields, format);
}

/** One field's outcome: its planned mask, or content detection when the plan leaves it raw. */
function maskCopyValue(
  ctx: CopyMaskContext,
  value: string,
  mask: ColumnMask,
  typeOid: number | undefined,
): ValueOutcome {
  const { content, counts } = ctx;
  if (mask.kind !== RAW.kind) return maskValue(value, mask, typeOid, counts);
  if (!content.active) return { kind: 'same' };
  if (typeOid === BYTEA_OID) return detectInBytes(decodeByteaText(value), content, counts);
  return detectInText(value, typeOid, content, counts);
}

function maskCopyHeader(ctx: CopyMaskContext, line: string): string {
  return ctx.content.active ? ctx.content.maskText(line).text : line;
}

/** Splits complete rows off the buffered bytes (CSV newlines inside quotes do not end a row). */
function takeCopyRows(format: CopyFormat, state: CopyScanState): Buffer[] {
  const rows: Buffer[] = [];
  let rowStart = 0;
  const quote = format.quote.charCodeAt(0);
  const escape = format.escape.charCodeAt(0);
  for (let i = state.scanFrom; i < state.pending.length; i++) {
    const b = state.pending[i]!;
    if (format.format === 'csv') {
      if (state.quoteState && escape !== quote && b === escape) {
        i++;
        continue;
      }
      if (b === quote) state.quoteState = !state.quoteState;
    }
    if (b === NEWLINE && !state.quoteState) {
      rows.push(state.pending.subarray(rowStart, i));
      rowStart = i + 1;
    }
  }
  if (rowStart > 0) state.pending = state.pending.subarray(rowStart);
  state.scanFrom = state.pending.length;
  return rows;
}

/** Masks complete rows, passing unchanged rows through as the bytes they came as. */
function maskCopyRows(ctx: CopyMaskContext, rows: Buffer[]): Buffer {
  const out: Buffer[] = [];
  for (const row of rows) {
    const line = row.toString('utf8');
    const cr = line.endsWith('\r') ? '\r' : '';
    const body = cr ? line.slice(0, -1) : line;
    const masked = maskCopyRow(ctx, body);
    if (masked === body) {
      out.push(row, NEWLINE_BYTES);
    } else {
      out.push(Buffer.from(`${masked}${cr}\n`, 'utf8'));
    }
  }
  return Buffer.concat(out);
}

function copyData(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + payload.length);
  out[0] = 0x64;
  out.writeInt32BE(4 + payload.length, 1);
  payload.copy(out, 5);
  return out;
}

const TEXT_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** Splits a text-format COPY line into unescaped fields (null for the NULL marker). */
export function splitText(line: string, format: CopyFormat): CopyField[] {
  const raw: string[] = [];
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\\') i++;
    else if (line[i] === format.delimiter) {
      raw.push(line.slice(start, i));
      start = i + 1;
    }
  }
  raw.push(line.slice(start));
  return raw.map((f) => {
    if (f === format.null) return { value: null, raw: f };
    const value = f.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_, e: string) => {
      if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
      if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
      return TEXT_ESCAPES[e] ?? e;
    });
    return { value, raw: f };
  });
}

/** One COPY field: its decoded value (null for the NULL marker) and its text as sent. */
export interface CopyField {
  value: string | null;
  raw: string;
}

function escapeText(value: string, format: CopyFormat): string {
  let out = value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
  if (format.delimiter !== '\t') out = out.split(format.delimiter).join(`\\${format.delimiter}`);
  return out;
}

function joinText(out: (ValueOutcome | null)[], fields: CopyField[], format: CopyFormat): string {
  return out
    .map((o, i) => {
      if (o === null || o.kind === 'same') return fields[i]!.raw;
      if (o.kind === 'null') return format.null;
      return escapeText(o.text, format);
    })
    .join(format.delimiter);
}

/** Splits a CSV COPY row; an unquoted field equal to the NULL string is null. */
export function splitCsv(line: string, format: CopyFormat): CopyField[] {
  const fields: CopyField[] = [];
  let i = 0;
  for (;;) {
    const begin = i;
    let value = '';
    let quoted = false;
    while (i < line.length && line[i] !== format.delimiter) {
      if (line[i] === format.quote) {
        quoted = true;
        i++;
        while (i < line.length) {
          if (
            line[i] === format.escape &&
            format.escape !== format.quote &&
            (line[i + 1] === format.quote || line[i + 1] === format.escape)
          ) {
            value += line[i + 1];
            i += 2;
          } else if (line[i] === format.quote && line[i + 1] === format.quote && format.escape === format.quote) {
            value += format.quote;
            i += 2;
          } else if (line[i] === format.quote) {
            i++;
            break;
          } else {
            value += line[i++];
          }
        }
      } else {
        value += line[i++];
      }
    }
    fields.push({ value: !quoted && value === format.null ? null : value, raw: line.slice(begin, i) });
    if (i >= line.length) break;
    i++;
  }
  return fields;
}

function quoteCsv(value: string, format: CopyFormat): string {
  const escaped =
    format.escape === format.quote
      ? value.split(format.quote).join(format.quote + format.quote)
      : value
          .split(format.escape)
          .join(format.escape + format.escape)
          .split(format.quote)
          .join(format.escape + format.quote);
  return `${format.quote}${escaped}${format.quote}`;
}

function joinCsv(out: (ValueOutcome | null)[], fields: CopyField[], format: CopyFormat): string {
  return out
    .map((o, i) => {
      if (o === null || o.kind === 'same') return fields[i]!.raw;
      if (o.kind === 'null') return format.null;
      return quoteCsv(o.text, format);
    })
    .join(format.delimiter);
}

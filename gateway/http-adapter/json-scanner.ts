import type { JsonPathStep } from '../policy/json-path.ts';

export type { JsonPathStep };

/** The kinds of scalar token the scanner hands to its hooks. */
export type JsonScalarKind = 'string' | 'number' | 'literal';

/**
 * What a user of the scanner decides, value by value. Every hook may return replacement bytes;
 * `undefined` keeps what was sent. Paths are live views: copy them to keep them.
 */
export interface JsonScanHooks {
  /** A value starts at `path`: return bytes to drop the whole value (object, array or scalar) and send these instead. */
  replaceValue?(path: readonly JsonPathStep[], container: boolean): Buffer | undefined;
  /** A scalar ended (raw bytes: strings with their quotes). */
  scalar?(path: readonly JsonPathStep[], raw: Buffer, kind: JsonScalarKind): Buffer | undefined;
  /** An object key ended (raw bytes with quotes); `path` is the object's path. */
  key?(path: readonly JsonPathStep[], raw: Buffer, decoded: string): Buffer | undefined;
}

/** Bounds that keep one hostile body from holding the gateway's memory. */
export interface JsonScanLimits {
  maxTokenBytes: number;
  maxDepth: number;
  /** Refuse an object that names a key twice (request bodies: parsers disagree on which one counts). */
  rejectDuplicateKeys?: boolean;
}

export const DEFAULT_JSON_LIMITS = { maxTokenBytes: 8 * 1024 * 1024, maxDepth: 128 } as const satisfies JsonScanLimits;

/** Thrown at the first byte that is not JSON (or breaks a limit); the stream is then cut, never passed on. */
export class JsonScanError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'JsonScanError';
  }
}

type Expect = 'value' | 'value-or-close' | 'key' | 'key-or-close' | 'colon' | 'comma-or-close';

interface Frame {
  kind: 'object' | 'array';
  keys?: Set<string>;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const LITERAL_START = new Set([0x74, 0x66, 0x6e]);
const LITERALS = new Set(['true', 'false', 'null']);
const isNumberStart = (b: number): boolean => b === 0x2d || (b >= 0x30 && b <= 0x39);
const isNumberByte = (b: number): boolean => isNumberStart(b) || b === 0x2e || b === 0x2b || b === 0x65 || b === 0x45;
const isLiteralByte = (b: number): boolean => b >= 0x61 && b <= 0x7a;

/**
 * A streaming JSON scanner that knows the path of every value and can replace values as they pass,
 * for response masking (by field path and by content) and for request body facts. Chunk-boundary
 * safe: a token split across chunks is gathered whole before a hook sees it. Accepts one JSON text
 * or a sequence of them (NDJSON, JSON lines). Everything else throws {@link JsonScanError}.
 */
export class JsonScanner {
  private readonly frames: Frame[] = [];
  private readonly path: JsonPathStep[] = [];
  private expect: Expect = 'value';
  private token: Buffer[] = [];
  private tokenBytes = 0;
  private tokenKind: JsonScalarKind | 'key' | null = null;
  private escaped = false;
  private replaceToken: Buffer | undefined;
  /** Depth at which a replaced container started; its bytes are dropped until it closes. */
  private skipDepth = -1;
  private replacement: Buffer | undefined;
  private offset = 0;
  private out: Buffer[] = [];

  constructor(
    private readonly hooks: JsonScanHooks = {},
    private readonly limits: JsonScanLimits = DEFAULT_JSON_LIMITS,
  ) {}

  /** Scans a chunk; returns the bytes to send for it (maybe fewer: a token still open is held). */
  write(chunk: Buffer): Buffer[] {
    this.out = [];
    let run = 0;
    let i = 0;
    while (i < chunk.length) {
      if (this.tokenKind !== null) {
        const end =
          this.tokenKind === 'string' || this.tokenKind === 'key' ? this.stringEnd(chunk, i) : this.bareEnd(chunk, i);
        this.addToken(chunk.subarray(i, end < 0 ? chunk.length : end));
        if (end < 0) return this.finishChunk(chunk, run, chunk.length, true);
        i = end;
        this.finishToken();
        run = i;
        continue;
      }
      const byte = chunk[i]!;
      if (WS.has(byte)) {
        i++;
        continue;
      }
      const startsToken = this.startsToken(byte);
      if (startsToken) {
        this.emit(chunk.subarray(run, i));
        run = i;
        this.beginToken(startsToken);
        continue;
      }
      const wasSkipping = this.skipDepth >= 0;
      this.structural(byte);
      i++;
      if (!wasSkipping && this.skipDepth >= 0) {
        if (i - 1 > run) this.out.push(chunk.subarray(run, i - 1));
        run = i;
      } else if (wasSkipping && this.skipDepth < 0) run = i;
    }
    return this.finishChunk(chunk, run, chunk.length, false);
  }

  /** The body ended: throws when it ended inside a value. */
  end(): Buffer[] {
    this.out = [];
    if (this.tokenKind === 'number' || this.tokenKind === 'literal') this.finishToken();
    if (this.tokenKind !== null || this.frames.length > 0 || this.expect === 'colon')
      throw new JsonScanError('the JSON body ended inside a value', this.offset);
    return this.out;
  }

  private finishChunk(chunk: Buffer, run: number, end: number, inToken: boolean): Buffer[] {
    if (!inToken) this.emit(chunk.subarray(run, end));
    this.offset += chunk.length;
    return this.out;
  }

  private emit(bytes: Buffer): void {
    if (bytes.length > 0 && this.skipDepth < 0) this.out.push(bytes);
  }

  private startsToken(byte: number): JsonScalarKind | 'key' | null {
    if (byte === 0x22) return this.expect === 'key' || this.expect === 'key-or-close' ? 'key' : 'string';
    if (isNumberStart(byte)) return 'number';
    if (LITERAL_START.has(byte)) return 'literal';
    return null;
  }

  private beginToken(kind: JsonScalarKind | 'key'): void {
    if (kind !== 'key') {
      if (this.expect !== 'value' && this.expect !== 'value-or-close') this.fail('a value is not expected here');
      this.valueStarts();
      if (this.skipDepth < 0) {
        this.replaceToken = this.hooks.replaceValue?.(this.path, false);
      }
    } else if (this.expect !== 'key' && this.expect !== 'key-or-close') this.fail('a key is not expected here');
    this.tokenKind = kind;
    this.token = [];
    this.tokenBytes = 0;
    this.escaped = false;
  }

  /** Index just past the closing quote, or -1 when the string goes on in the next chunk. */
  private stringEnd(chunk: Buffer, from: number): number {
    for (let i = this.tokenBytes === 0 ? from + 1 : from; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.escaped) this.escaped = false;
      else if (b === 0x5c) this.escaped = true;
      else if (b === 0x22) return i + 1;
      else if (b < 0x20) this.fail('a raw control character inside a JSON string');
    }
    return -1;
  }

  /** Index of the first byte after a number or literal, or -1 when it may go on in the next chunk. */
  private bareEnd(chunk: Buffer, from: number): number {
    const more = this.tokenKind === 'number' ? isNumberByte : isLiteralByte;
    for (let i = from; i < chunk.length; i++) if (!more(chunk[i]!)) return i;
    return -1;
  }

  private addToken(bytes: Buffer): void {
    this.tokenBytes += bytes.length;
    if (this.tokenBytes > this.limits.maxTokenBytes)
      this.fail(`a JSON value is longer than ${this.limits.maxTokenBytes} bytes`);
    this.token.push(Buffer.from(bytes));
  }

  private finishToken(): void {
    const raw = this.token.length === 1 ? this.token[0]! : Buffer.concat(this.token);
    const kind = this.tokenKind!;
    this.tokenKind = null;
    this.token = [];
    if (kind === 'key') return this.finishKey(raw);
    this.checkScalar(raw, kind);
    const replaced = this.replaceToken;
    this.replaceToken = undefined;
    if (this.skipDepth < 0) this.out.push(replaced ?? this.hooks.scalar?.(this.path, raw, kind) ?? raw);
    this.valueEnds();
  }

  private checkScalar(raw: Buffer, kind: JsonScalarKind): void {
    if (kind === 'literal' && !LITERALS.has(raw.toString('latin1'))) this.fail('an unknown literal');
    if (kind === 'number' && !/^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(raw.toString('latin1')))
      this.fail('a malformed number');
  }

  private finishKey(raw: Buffer): void {
    let decoded: string;
    try {
      decoded = JSON.parse(raw.toString('utf8')) as string;
    } catch {
      return this.fail('a malformed object key');
    }
    const frame = this.frames[this.frames.length - 1]!;
    if (frame.keys) {
      if (frame.keys.has(decoded)) this.fail(`the key "${decoded.slice(0, 40)}" appears twice in one object`);
      frame.keys.add(decoded);
    }
    this.path[this.path.length - 1] = decoded;
    if (this.skipDepth < 0) {
      const out = this.hooks.key?.(this.path.slice(0, -1), raw, decoded);
      this.out.push(out ?? raw);
    }
    this.expect = 'colon';
  }

  private structural(byte: number): void {
    switch (byte) {
      case 0x7b:
      case 0x5b:
        return this.open(byte === 0x7b ? 'object' : 'array');
      case 0x7d:
      case 0x5d:
        return this.close(byte === 0x7d ? 'object' : 'array');
      case 0x3a:
        if (this.expect !== 'colon') this.fail("an unexpected ':'");
        this.expect = 'value';
        return;
      case 0x2c:
        return this.comma();
      default:
        this.fail(`an unexpected character '${String.fromCharCode(byte)}'`);
    }
  }

  private open(kind: Frame['kind']): void {
    if (this.expect !== 'value' && this.expect !== 'value-or-close') this.fail('a value is not expected here');
    this.valueStarts();
    if (this.skipDepth < 0) {
      const replacement = this.hooks.replaceValue?.(this.path, true);
      if (replacement) {
        this.skipDepth = this.frames.length;
        this.replacement = replacement;
      }
    }
    if (this.frames.length >= this.limits.maxDepth) this.fail(`JSON nested deeper than ${this.limits.maxDepth}`);
    this.frames.push(kind === 'object' && this.limits.rejectDuplicateKeys ? { kind, keys: new Set() } : { kind });
    this.path.push(kind === 'array' ? 0 : '');
    this.expect = kind === 'object' ? 'key-or-close' : 'value-or-close';
  }

  private close(kind: Frame['kind']): void {
    const frame = this.frames[this.frames.length - 1];
    const closable = kind === 'object' ? ['key-or-close', 'comma-or-close'] : ['value-or-close', 'comma-or-close'];
    if (!frame || frame.kind !== kind || !closable.includes(this.expect))
      this.fail(`an unexpected '${kind === 'object' ? '}' : ']'}'`);
    this.frames.pop();
    this.path.pop();
    this.valueEnds();
    this.emitReplacementIfDone();
  }

  private comma(): void {
    const frame = this.frames[this.frames.length - 1];
    if (!frame || this.expect !== 'comma-or-close') this.fail("an unexpected ','");
    if (frame.kind === 'array') {
      this.path[this.path.length - 1] = (this.path[this.path.length - 1] as number) + 1;
      this.expect = 'value';
    } else this.expect = 'key';
  }

  /** Before a value: a new top-level value starts a fresh path. */
  private valueStarts(): void {
    if (this.frames.length === 0) this.path.length = 0;
  }

  private valueEnds(): void {
    this.expect = this.frames.length === 0 ? 'value' : 'comma-or-close';
  }

  private emitReplacementIfDone(): void {
    if (this.skipDepth >= 0 && this.frames.length === this.skipDepth) {
      this.skipDepth = -1;
      this.out.push(this.replacement!);
      this.replacement = undefined;
    }
  }

  private fail(reason: string): never {
    throw new JsonScanError(`the body is not valid JSON: ${reason}`, this.offset);
  }
}

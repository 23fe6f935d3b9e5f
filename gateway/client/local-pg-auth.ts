import { secretsEqual } from '../identity/session-token.ts';

/** PostgreSQL startup-phase codes the local proxy understands. */
export const PG_STARTUP = {
  protocol3: 196608,
  sslRequest: 80877103,
  gssEncRequest: 80877104,
  cancelRequest: 80877102,
} as const;
const MAX_STARTUP_BYTES = 10_000;
const MAX_PASSWORD_BYTES = 4_096;
const MAX_NEGOTIATIONS = 2;

/** Where the local startup exchange stands; a plain value so the step function stays pure. */
export type LocalPgAuthState =
  | { phase: 'startup'; negotiations: number }
  | { phase: 'password'; parameters: [string, string][] }
  | { phase: 'finished' };

/** What the caller does next: wait for bytes, open the tunnel, forward a cancel, or hang up. */
export type LocalPgAuthOutcome =
  | { kind: 'continue' }
  | { kind: 'authenticated'; startup: Buffer }
  | { kind: 'cancel'; request: Buffer }
  | { kind: 'rejected'; reason: string };

/** Result of one step: replies for the client, leftover bytes and what to do next. */
export interface LocalPgAuthStep {
  state: LocalPgAuthState;
  /** Bytes to write to the local client, in order (before acting on the outcome). */
  replies: Buffer[];
  /** Input not consumed: kept for the next step, or forwarded after the startup when authenticated. */
  rest: Buffer;
  outcome: LocalPgAuthOutcome;
}

/** Per-listener settings of the local check. */
export interface LocalPgAuthOptions {
  /** The per-session local password the client must send. */
  password: string;
  /** The connection name, written as `database` into the forwarded StartupMessage (it picks the connection at the gateway). */
  database: string;
}

/** The state of a freshly accepted client. */
export const initialLocalPgAuthState = (): LocalPgAuthState => ({ phase: 'startup', negotiations: 0 });

/**
 * One step of the local proxy's PostgreSQL startup: answers SSL/GSS requests with 'N', asks for
 * the per-session password in cleartext (loopback only), checks it in constant time, and yields
 * the client's StartupMessage rewritten for the tunnel. Works on buffers only, never on sockets.
 */
export function stepLocalPgAuth(state: LocalPgAuthState, input: Buffer, options: LocalPgAuthOptions): LocalPgAuthStep {
  const replies: Buffer[] = [];
  let current = state;
  let buffer = input;
  for (;;) {
    if (current.phase === 'finished')
      return {
        state: current,
        replies,
        rest: buffer,
        outcome: { kind: 'rejected', reason: 'startup already finished' },
      };
    const result =
      current.phase === 'startup'
        ? startupPhase(current, buffer, replies)
        : passwordPhase(current, buffer, replies, options);
    if ('done' in result) return result.done;
    ({ state: current, rest: buffer } = result);
  }
}

/** A phase either ends the step or moves to the next state with the bytes after its message. */
type PhaseResult = { done: LocalPgAuthStep } | { state: LocalPgAuthState; rest: Buffer };

type PhaseState<P extends LocalPgAuthState['phase']> = Extract<LocalPgAuthState, { phase: P }>;

const waitForMore = (state: LocalPgAuthState, replies: Buffer[], rest: Buffer): PhaseResult => ({
  done: { state, replies, rest, outcome: { kind: 'continue' } },
});

/** One startup-phase message: SSL/GSS negotiation, a CancelRequest, or the StartupMessage. */
function startupPhase(current: PhaseState<'startup'>, buffer: Buffer, replies: Buffer[]): PhaseResult {
  if (buffer.length < 8) return waitForMore(current, replies, buffer);
  const length = buffer.readInt32BE(0);
  if (length < 8 || length > MAX_STARTUP_BYTES)
    return { done: reject(replies, buffer, '08P01', 'invalid startup packet length') };
  if (buffer.length < length) return waitForMore(current, replies, buffer);
  const frame = buffer.subarray(0, length);
  const rest = buffer.subarray(length);
  const code = frame.readInt32BE(4);
  if (code === PG_STARTUP.sslRequest || code === PG_STARTUP.gssEncRequest) {
    if (current.negotiations >= MAX_NEGOTIATIONS)
      return { done: reject(replies, rest, '08P01', 'too many negotiation requests') };
    replies.push(Buffer.from('N'));
    return { state: { phase: 'startup', negotiations: current.negotiations + 1 }, rest };
  }
  if (code === PG_STARTUP.cancelRequest && length === 16) {
    const outcome = { kind: 'cancel', request: Buffer.from(frame) } as const;
    return { done: { state: { phase: 'finished' }, replies, rest, outcome } };
  }
  if (code !== PG_STARTUP.protocol3) {
    const message = `unsupported frontend protocol ${code >> 16}.${code & 0xffff}: use a PostgreSQL 3.0 client`;
    return { done: reject(replies, rest, '0A000', message) };
  }
  const parameters = decodeParameters(frame.subarray(8));
  if (!parameters) return { done: reject(replies, rest, '08P01', 'malformed startup parameters') };
  replies.push(authenticationCleartextPassword());
  return { state: { phase: 'password', parameters }, rest };
}

/** The PasswordMessage: checked in constant time; the StartupMessage is then rewritten for the tunnel. */
function passwordPhase(
  current: PhaseState<'password'>,
  buffer: Buffer,
  replies: Buffer[],
  options: LocalPgAuthOptions,
): PhaseResult {
  if (buffer.length < 5) return waitForMore(current, replies, buffer);
  const length = buffer.readInt32BE(1);
  if (buffer[0] !== 0x70 || length < 5 || length > MAX_PASSWORD_BYTES)
    return { done: reject(replies, buffer, '08P01', 'expected a password message') };
  if (buffer.length < length + 1) return waitForMore(current, replies, buffer);
  const body = buffer.subarray(5, length + 1);
  const rest = buffer.subarray(length + 1);
  const password = body.at(-1) === 0 ? body.subarray(0, -1).toString('utf8') : body.toString('utf8');
  if (!secretsEqual(password, options.password)) {
    const message = 'password authentication failed: use the password printed by gatehouse connect for this session';
    return { done: reject(replies, rest, '28P01', message) };
  }
  const parameters = current.parameters.filter(([name]) => name !== 'database');
  parameters.push(['database', options.database]);
  const outcome = { kind: 'authenticated', startup: encodeStartup(parameters) } as const;
  return { done: { state: { phase: 'finished' }, replies, rest, outcome } };
}

function reject(replies: Buffer[], rest: Buffer, code: string, message: string): LocalPgAuthStep {
  replies.push(errorResponse(code, message));
  return { state: { phase: 'finished' }, replies, rest, outcome: { kind: 'rejected', reason: message } };
}

function decodeParameters(body: Buffer): [string, string][] | null {
  const parts = body.toString('utf8').split('\0');
  if (parts.length < 2 || parts.at(-1) !== '' || parts.at(-2) !== '') return null;
  const fields = parts.slice(0, -2);
  if (fields.length % 2 !== 0) return null;
  const pairs: [string, string][] = [];
  for (let i = 0; i < fields.length; i += 2) pairs.push([fields[i]!, fields[i + 1]!]);
  return pairs;
}

/** A 3.0 StartupMessage carrying `parameters`. */
export function encodeStartup(parameters: readonly [string, string][]): Buffer {
  const body = Buffer.from(`${parameters.map(([k, v]) => `${k}\0${v}\0`).join('')}\0`, 'utf8');
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length, 0);
  head.writeInt32BE(PG_STARTUP.protocol3, 4);
  return Buffer.concat([head, body]);
}

function authenticationCleartextPassword(): Buffer {
  const message = Buffer.alloc(9);
  message.write('R', 0, 'latin1');
  message.writeInt32BE(8, 1);
  message.writeInt32BE(3, 5);
  return message;
}

/** A FATAL ErrorResponse, for refusals the local proxy makes itself. */
export function errorResponse(code: string, message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C${code}\0Mgatehouse connect: ${message}\0\0`, 'utf8');
  const head = Buffer.alloc(5);
  head.write('E', 0, 'latin1');
  head.writeInt32BE(4 + fields.length, 1);
  return Buffer.concat([head, fields]);
}

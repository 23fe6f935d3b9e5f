import { parseArgs } from 'node:util';
import { AUDIT_EVENT_TYPES } from '../../wire/audit-events.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { SSH_AUDIT_EVENTS, type AsciicastEvent, type AsciicastHeader } from '../ssh/ssh-audit-events.ts';
import type { AuditEventRecord, Store } from '../store/store.ts';
import { mergeChains } from './audit-log.ts';

/** Events that open a recording (their `cast` is the header) and those that carry its events. */
const RECORDING_HEADERS: ReadonlySet<string> = new Set([SSH_AUDIT_EVENTS.shell, AUDIT_EVENT_TYPES.k8sExec]);
const RECORDING_EVENTS: ReadonlySet<string> = new Set([SSH_AUDIT_EVENTS.output, AUDIT_EVENT_TYPES.k8sOutput]);

/**
 * One recorded terminal session of an audit log: an SSH shell (`ssh.shell` + `ssh.output`) or a
 * `kubectl exec` (`k8s.exec` + `k8s.output`), rebuilt from its events.
 */
export interface ShellRecording {
  channel: string;
  header: AsciicastHeader;
  events: AsciicastEvent[];
}

/** Gathers the shell recordings of a session log, in the order the shells started. */
export function shellRecordings(events: readonly AuditEventRecord[]): ShellRecording[] {
  const byChannel = new Map<string, ShellRecording>();
  for (const event of events) {
    const channel = typeof event.data.channel === 'string' ? event.data.channel : undefined;
    if (!channel) continue;
    if (RECORDING_HEADERS.has(event.type) && isHeader(event.data.cast)) {
      byChannel.set(channel, { channel, header: event.data.cast, events: [] });
    } else if (RECORDING_EVENTS.has(event.type) && Array.isArray(event.data.cast)) {
      byChannel.get(channel)?.events.push(...event.data.cast.filter(isEvent));
    }
  }
  return [...byChannel.values()];
}

/** The recording as an asciicast v2 file (header line, then one JSON array per event). */
export function toAsciicast(recording: ShellRecording): string {
  return (
    [JSON.stringify(recording.header), ...recording.events.map((event) => JSON.stringify(event))].join('\n') + '\n'
  );
}

/** Parses an asciicast v2 file; throws a GatehouseError naming the bad line. */
export function parseAsciicast(text: string): ShellRecording {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const header = parseLine(lines[0] ?? '', 1);
  if (!isHeader(header))
    throw new GatehouseError(
      'replay.invalid',
      'line 1 is not an asciicast v2 header; only asciicast version 2 files can be replayed',
    );
  const events = lines.slice(1).map((line, index) => {
    const event = parseLine(line, index + 2);
    if (!isEvent(event))
      throw new GatehouseError('replay.invalid', `line ${index + 2} is not an asciicast event [time, code, data]`);
    return event;
  });
  return { channel: 'file', header, events };
}

/** How a recording is played back; idle pauses are capped so a reviewer does not watch minutes of nothing. */
export interface PlayOptions {
  /** 2 plays twice as fast; default 1. */
  speed?: number;
  /** Pauses longer than this many seconds (before speed) are shortened to it; default 2. */
  maxIdleSeconds?: number;
  /** Also show recorded input (`i` events). */
  input?: boolean;
  write(data: string): void;
  sleep?(ms: number): Promise<void>;
  signal?: AbortSignal;
}

/** Writes the recording's output with its original timing (scaled by speed, long pauses capped). */
export async function playAsciicast(recording: ShellRecording, options: PlayOptions): Promise<void> {
  const speed = options.speed && options.speed > 0 ? options.speed : 1;
  const maxIdle = options.maxIdleSeconds ?? 2;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let previous = 0;
  for (const [time, code, data] of recording.events) {
    if (options.signal?.aborted) return;
    const gap = Math.min(Math.max(0, time - previous), maxIdle);
    previous = time;
    if (gap > 0) await sleep((gap * 1000) / speed);
    if (code === 'o' || (code === 'i' && options.input)) options.write(data);
  }
}

/** What `gatehouse audit replay` needs from the gateway: the session log and a terminal. */
export interface ReplayDeps {
  listAuditEvents(sessionId: string): Promise<AuditEventRecord[]>;
  write(data: string): void;
  sleep?(ms: number): Promise<void>;
  signal?: AbortSignal;
}

export const REPLAY_USAGE =
  'usage: gatehouse audit replay <session> [--speed N] [--max-idle S] [--channel ID] [--input] [--asciicast]' as const;

/**
 * `gatehouse audit replay <session>`: plays the session's shell recordings in the terminal, one
 * after another, or with `--asciicast` prints them as asciicast v2 (e.g. for `asciinema play`).
 */
export async function runReplay(argv: string[], deps: ReplayDeps): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        speed: { type: 'string', default: '1' },
        'max-idle': { type: 'string', default: '2' },
        channel: { type: 'string' },
        input: { type: 'boolean', default: false },
        asciicast: { type: 'boolean', default: false },
        config: { type: 'string' },
        store: { type: 'string' },
      },
    });
  } catch (error) {
    throw new GatehouseError('replay.usage', `${(error as Error).message}; ${REPLAY_USAGE}`);
  }
  const sessionId = parsed.positionals[0];
  const speed = Number(parsed.values.speed);
  const maxIdle = Number(parsed.values['max-idle']);
  if (!sessionId || parsed.positionals.length > 1) throw new GatehouseError('replay.usage', REPLAY_USAGE);
  if (!(speed > 0) || !(maxIdle >= 0))
    throw new GatehouseError('replay.usage', `--speed must be above 0 and --max-idle at least 0; ${REPLAY_USAGE}`);
  const recordings = shellRecordings(await deps.listAuditEvents(sessionId)).filter(
    (recording) => !parsed.values.channel || recording.channel === parsed.values.channel,
  );
  if (recordings.length === 0) {
    throw new GatehouseError(
      'replay.none',
      `session ${sessionId} has no recorded shell${parsed.values.channel ? ` on channel ${parsed.values.channel}` : ''}; 'gatehouse audit show ${sessionId}' lists its exec commands and output`,
    );
  }
  for (const recording of recordings) {
    if (parsed.values.asciicast) {
      deps.write(toAsciicast(recording));
      continue;
    }
    deps.write(`\r\n--- ${recording.header.title ?? 'shell'} (channel ${recording.channel}) ---\r\n`);
    await playAsciicast(recording, {
      speed,
      maxIdleSeconds: maxIdle,
      input: parsed.values.input,
      write: deps.write,
      sleep: deps.sleep,
      signal: deps.signal,
    });
  }
  return 0;
}

/**
 * The entry `gatehouse audit replay` loads (gateway/commands/audit.ts), lazily so other audit commands skip it:
 * `argv` still holds the session id and the `--config`/`--store` options that command consumed.
 */
export function replaySession(options: {
  store: Pick<Store, 'listAuditEvents'>;
  sessionId: string;
  argv: string[];
  out: { write(text: string): unknown };
}): Promise<number> {
  return runReplay(options.argv, {
    listAuditEvents: async (sessionId) => mergeChains(await options.store.listAuditEvents(sessionId)),
    write: (data) => void options.out.write(data),
  });
}

function parseLine(line: string, number: number): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new GatehouseError('replay.invalid', `line ${number} is not JSON; is this an asciicast v2 file?`);
  }
}

function isHeader(value: unknown): value is AsciicastHeader {
  const header = value as AsciicastHeader;
  return (
    typeof value === 'object' &&
    value !== null &&
    header.version === 2 &&
    typeof header.width === 'number' &&
    typeof header.height === 'number'
  );
}

function isEvent(value: unknown): value is AsciicastEvent {
  return (
    Array.isArray(value) &&
    value.length === 3 &&
    typeof value[0] === 'number' &&
    ['o', 'i', 'r'].includes(value[1]) &&
    typeof value[2] === 'string'
  );
}

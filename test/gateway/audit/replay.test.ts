import { describe, expect, it } from 'vitest';
import {
  parseAsciicast,
  playAsciicast,
  replaySession,
  runReplay,
  shellRecordings,
  toAsciicast,
} from '../../../gateway/audit/replay.ts';
import type { AuditEventRecord } from '../../../gateway/store/store.ts';

const HEADER = { version: 2, width: 80, height: 24, timestamp: 1_700_000_000, title: 'deploy-host' };

function event(seq: number, type: string, data: Record<string, unknown>): AuditEventRecord {
  return { sessionId: 's1', seq, type, at: new Date(), data, prevHash: '', hash: '' };
}

const LOG: AuditEventRecord[] = [
  event(1, 'session.start', { claims: {} }),
  event(2, 'ssh.shell', { channel: 'c1', cast: HEADER, decision: 'allow' }),
  event(3, 'ssh.exec', { channel: 'c2', command: 'ls', decision: 'allow' }),
  event(4, 'ssh.output', { channel: 'c2', stream: 'stdout', data: 'file\n' }),
  event(5, 'ssh.output', {
    channel: 'c1',
    stream: 'stdout',
    data: '$ ',
    cast: [
      [0.1, 'o', '$ '],
      [0.2, 'i', 'ls\r'],
    ],
  }),
  event(6, 'ssh.output', { channel: 'c1', stream: 'stdout', data: 'file\r\n', cast: [[10, 'o', 'file\r\n']] }),
  event(7, 'ssh.exit', { channel: 'c1', code: 0 }),
];

describe('shell recordings from an audit log', () => {
  it('rebuilds each shell from its header and output batches, ignoring exec output', () => {
    expect(shellRecordings(LOG)).toEqual([
      {
        channel: 'c1',
        header: HEADER,
        events: [
          [0.1, 'o', '$ '],
          [0.2, 'i', 'ls\r'],
          [10, 'o', 'file\r\n'],
        ],
      },
    ]);
  });

  it('round-trips through the asciicast v2 file format', () => {
    const [recording] = shellRecordings(LOG);
    const text = toAsciicast(recording!);
    expect(text.split('\n')[0]).toBe(JSON.stringify(HEADER));
    expect(parseAsciicast(text)).toEqual({ ...recording, channel: 'file' });
  });

  it('refuses a file that is not asciicast v2, naming the line', () => {
    expect(() => parseAsciicast('{"version":1}\n')).toThrow(/line 1/);
    expect(() => parseAsciicast(`${JSON.stringify(HEADER)}\n[1, "x"]\n`)).toThrow(/line 2/);
  });
});

describe('playing a recording', () => {
  it('waits the recorded gaps divided by speed, capping long idle pauses', async () => {
    const [recording] = shellRecordings(LOG);
    const sleeps: number[] = [];
    let out = '';
    await playAsciicast(recording!, {
      speed: 2,
      maxIdleSeconds: 1,
      write: (data) => (out += data),
      sleep: async (ms) => void sleeps.push(ms),
    });
    expect(out).toBe('$ file\r\n');
    expect(sleeps.map((ms) => Math.round(ms))).toEqual([50, 50, 500]);
  });

  it('shows input only when asked', async () => {
    const [recording] = shellRecordings(LOG);
    let out = '';
    await playAsciicast(recording!, { input: true, write: (data) => (out += data), sleep: async () => undefined });
    expect(out).toBe('$ ls\rfile\r\n');
  });
});

describe('gatehouse audit replay', () => {
  it('plays the shells of a session from the store, ignoring the --config option of the audit command', async () => {
    let out = '';
    const code = await replaySession({
      store: { listAuditEvents: async (id) => (id === 's1' ? LOG : []) },
      sessionId: 's1',
      argv: ['s1', '--config', 'gatehouse.yaml', '--speed', '1000'],
      out: { write: (text) => (out += text) },
    });
    expect(code).toBe(0);
    expect(out).toContain('--- deploy-host (channel c1) ---');
    expect(out).toContain('$ file\r\n');
  });

  it('prints asciicast with --asciicast', async () => {
    let out = '';
    await runReplay(['s1', '--asciicast'], { listAuditEvents: async () => LOG, write: (data) => (out += data) });
    expect(parseAsciicast(out).events).toHaveLength(3);
  });

  it('says what to use instead when the session has no shell', async () => {
    await expect(runReplay(['s2'], { listAuditEvents: async () => [LOG[2]!], write: () => undefined })).rejects.toThrow(
      /gatehouse audit show s2/,
    );
  });

  it('rejects a speed that is not a positive number', async () => {
    await expect(
      runReplay(['s1', '--speed', '0'], { listAuditEvents: async () => LOG, write: () => undefined }),
    ).rejects.toThrow(/--speed/);
  });
});

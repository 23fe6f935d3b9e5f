import { describe, expect, it } from 'vitest';
import { parseAsciicast, shellRecordings, toAsciicast } from '../../../gateway/audit/replay.ts';
import { EXEC_CHANNEL } from '../../../gateway/kubernetes/exec-frames.ts';
import { execCastHeader, execExitCode, ExecRecording } from '../../../gateway/kubernetes/exec-recording.ts';
import type { AsciicastEvent } from '../../../gateway/ssh/ssh-audit-events.ts';
import type { AuditEventRecord } from '../../../gateway/store/store.ts';

const frame = (channel: number, text: string) => ({ channel, data: Buffer.from(text) });

function record(seq: number, type: string, data: Record<string, unknown>): AuditEventRecord {
  return { sessionId: 's', seq, type, at: new Date(0), data, prevHash: '', hash: '' };
}

describe('ExecRecording', () => {
  it('records output, stdin and resizes as asciicast and reads the exit code from the Status frame', async () => {
    let now = 10_000;
    const batches: AsciicastEvent[][] = [];
    const recording = new ExecRecording(
      10_000,
      () => now,
      async (events) => void batches.push(events),
    );
    recording.fromClient(frame(EXEC_CHANNEL.stdin, 'ls\n'));
    now = 10_500;
    recording.fromServer(frame(EXEC_CHANNEL.stdout, 'a b\n'));
    recording.fromServer(frame(EXEC_CHANNEL.stderr, 'warn ****\n'));
    recording.fromClient(frame(EXEC_CHANNEL.resize, '{"Width":120,"Height":40}'));
    recording.fromServer(
      frame(
        EXEC_CHANNEL.error,
        '{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"2"}]}}',
      ),
    );
    await recording.close();
    expect(batches.flat()).toEqual([
      [0, 'i', 'ls\n'],
      [0.5, 'o', 'a b\n'],
      [0.5, 'o', 'warn ****\n'],
      [0.5, 'r', '120x40'],
    ]);
    expect(recording.exitCode).toBe(2);
  });

  it('reads Success as exit code 0 and anything else as unknown', () => {
    expect(execExitCode(Buffer.from('{"metadata":{},"status":"Success"}'))).toBe(0);
    expect(execExitCode(Buffer.from('{"status":"Failure","reason":"InternalError"}'))).toBeNull();
    expect(execExitCode(Buffer.from('nope'))).toBeNull();
  });

  it('is replayable: k8s.exec and k8s.output events rebuild the asciicast file', () => {
    const header = execCastHeader(10_000, 'kubectl exec ci/web -- ls');
    const events = [
      record(1, 'k8s.exec', { channel: 'k8s-exec-1', target: 'ci/web', command: ['ls'], cast: header }),
      record(2, 'k8s.output', { channel: 'k8s-exec-1', cast: [[0.1, 'o', 'a b\n']] }),
      record(3, 'k8s.output', { channel: 'other', cast: [[0.2, 'o', 'not mine\n']] }),
    ];
    const [recording] = shellRecordings(events);
    expect(recording).toMatchObject({
      channel: 'k8s-exec-1',
      header: { width: 80, height: 24 },
      events: [[0.1, 'o', 'a b\n']],
    });
    expect(parseAsciicast(toAsciicast(recording!)).events).toEqual([[0.1, 'o', 'a b\n']]);
  });
});

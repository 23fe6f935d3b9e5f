import { describe, expect, it } from 'vitest';
import { ASCIICAST_BATCH, AsciicastRecorder } from '../../../gateway/ssh/asciicast-recorder.ts';
import type { AsciicastEvent } from '../../../gateway/ssh/ssh-audit-events.ts';

describe('AsciicastRecorder', () => {
  it('timestamps output, input and resizes relative to the start', async () => {
    let now = 1_000;
    const batches: AsciicastEvent[][] = [];
    const recorder = new AsciicastRecorder(
      1_000,
      () => now,
      async (events) => void batches.push(events),
    );
    recorder.output(Buffer.from('$ '));
    now = 1_500;
    recorder.input(Buffer.from('ls\r'));
    now = 2_250;
    recorder.resize(120, 40);
    await recorder.close();
    expect(batches).toEqual([
      [
        [0, 'o', '$ '],
        [0.5, 'i', 'ls\r'],
        [1.25, 'r', '120x40'],
      ],
    ]);
  });

  it('keeps a UTF-8 character split across chunks whole', async () => {
    const batches: AsciicastEvent[][] = [];
    const recorder = new AsciicastRecorder(
      0,
      () => 0,
      async (events) => void batches.push(events),
    );
    const bytes = Buffer.from('é');
    recorder.output(bytes.subarray(0, 1));
    recorder.output(bytes.subarray(1));
    await recorder.close();
    expect(
      batches
        .flat()
        .map((event) => event[2])
        .join(''),
    ).toBe('é');
  });

  it('hands over a batch as soon as it is big enough', async () => {
    const batches: AsciicastEvent[][] = [];
    const recorder = new AsciicastRecorder(
      0,
      () => 0,
      async (events) => void batches.push(events),
    );
    recorder.output(Buffer.alloc(ASCIICAST_BATCH.maxChars, 'a'));
    recorder.output(Buffer.from('b'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toHaveLength(1);
    await recorder.close();
    expect(batches).toHaveLength(2);
    expect(batches[1]).toEqual([[0, 'o', 'b']]);
  });
});

import { describe, expect, it } from 'vitest';
import {
  EXEC_CHANNEL,
  ExecOutputMasker,
  encodeExecFrame,
  type ExecFrame,
} from '../../../gateway/kubernetes/exec-frames.ts';
import { createContentMasker } from '../../../gateway/content/detectors.ts';

const masker = createContentMasker({ detectors: ['aws_access_key'] });
const maskText = (text: string) => masker.maskText(text);
const AWS = 'AKIAIOSFODNN7EXAMPLE';
const window = { tailBytes: 64, maxBlockBytes: 1024, idleMs: 5 };

function collect(): { frames: ExecFrame[]; text: (channel: number) => string } {
  const frames: ExecFrame[] = [];
  return {
    frames,
    text: (channel) => Buffer.concat(frames.filter((f) => f.channel === channel).map((f) => f.data)).toString(),
  };
}

describe('ExecOutputMasker', () => {
  it('masks a key split across two stdout frames at every cut', async () => {
    const line = `key=${AWS} done\n`;
    for (let cut = 1; cut < line.length; cut++) {
      const out = collect();
      const exec = new ExecOutputMasker(maskText, (f) => out.frames.push(f), window);
      exec.push(encodeExecFrame(EXEC_CHANNEL.stdout, line.slice(0, cut)));
      exec.push(encodeExecFrame(EXEC_CHANNEL.stdout, line.slice(cut)));
      await exec.end();
      expect(out.text(EXEC_CHANNEL.stdout)).toBe('key=**** done\n');
    }
  });

  it('keeps stdout and stderr apart and sends the exit status only after the output before it', async () => {
    const out = collect();
    const exec = new ExecOutputMasker(maskText, (f) => out.frames.push(f), window);
    exec.push(encodeExecFrame(EXEC_CHANNEL.stdout, 'out '));
    exec.push(encodeExecFrame(EXEC_CHANNEL.stderr, `err ${AWS}`));
    exec.push(encodeExecFrame(EXEC_CHANNEL.error, '{"metadata":{},"status":"Success"}'));
    await exec.end();
    expect(out.text(EXEC_CHANNEL.stdout)).toBe('out ');
    expect(out.text(EXEC_CHANNEL.stderr)).toBe('err ****');
    expect(out.frames.at(-1)!.channel).toBe(EXEC_CHANNEL.error);
    expect(exec.masked).toBe(1);
  });

  it('masks a detected value in the exit status message', async () => {
    const out = collect();
    const exec = new ExecOutputMasker(maskText, (f) => out.frames.push(f), window);
    exec.push(encodeExecFrame(EXEC_CHANNEL.error, JSON.stringify({ status: 'Failure', message: `bad ${AWS}` })));
    await exec.end();
    expect(JSON.parse(out.text(EXEC_CHANNEL.error)).message).toBe('bad ****');
  });
});

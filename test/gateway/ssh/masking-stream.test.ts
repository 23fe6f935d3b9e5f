import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MaskingStream } from '../../../gateway/ssh/masking-stream.ts';

const TOKEN = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';
const PEM =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\nAAAAAAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAIO\n-----END OPENSSH PRIVATE KEY-----';

function maskText(text: string) {
  let count = 0;
  const masked = text.replace(/ghp_[A-Za-z0-9]{36}|-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----/g, () => {
    count++;
    return '****';
  });
  return { text: masked, count };
}

async function run(
  chunks: Buffer[],
  window?: ConstructorParameters<typeof MaskingStream>[1],
): Promise<{ output: Buffer; masked: number }> {
  const stream = new MaskingStream(maskText, window);
  const out: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = new Promise<void>((resolve) => stream.once('end', () => resolve()));
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  await ended;
  return { output: Buffer.concat(out), masked: stream.masked };
}

function cut(data: Buffer, points: number[]): Buffer[] {
  const sorted = [...new Set(points.map((p) => p % (data.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of sorted) {
    chunks.push(data.subarray(start, point));
    start = point;
  }
  chunks.push(data.subarray(start));
  return chunks.filter((chunk) => chunk.length > 0);
}

describe('MaskingStream', () => {
  it('masks a secret split between two chunks', async () => {
    const text = Buffer.from(`token=${TOKEN}\n`);
    const { output, masked } = await run([text.subarray(0, 15), text.subarray(15)]);
    expect(output.toString()).toBe('token=****\n');
    expect(masked).toBe(1);
  });

  it('masks every secret in long output whatever the chunk boundaries are', async () => {
    const lines = Array.from({ length: 400 }, (_, i) => `${'.'.repeat(i % 50)}${TOKEN}${i % 3 === 0 ? '' : ' tail'}`);
    const data = Buffer.from(`${lines.join('\n')}\n`);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 40 }), async (points) => {
        const { output } = await run(cut(data, points), { tailBytes: 256, maxBlockBytes: 4096, idleMs: 1000 });
        expect(output.toString()).not.toContain('ghp_');
        expect(output.toString().split('****').length - 1).toBe(400);
      }),
      { numRuns: 40 },
    );
  });

  it('holds a PEM block whole across chunks so it is masked as one', async () => {
    const data = Buffer.from(`${'x'.repeat(600)}\n${PEM}\n${'y'.repeat(600)}\n`);
    const { output } = await run(cut(data, [620, 660, 700]), { tailBytes: 32, maxBlockBytes: 4096, idleMs: 1000 });
    expect(output.toString()).toBe(`${'x'.repeat(600)}\n****\n${'y'.repeat(600)}\n`);
  });

  it('passes binary output through byte for byte', async () => {
    const data = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 256));
    const { output } = await run(cut(data, [100, 33_000, 65_537]));
    expect(output.equals(data)).toBe(true);
  });

  it('releases held-back output after a quiet moment, so a prompt appears before the stream ends', async () => {
    const stream = new MaskingStream(maskText, { tailBytes: 1024, maxBlockBytes: 4096, idleMs: 5 });
    const seen = new Promise<string>((resolve) => stream.once('data', (chunk: Buffer) => resolve(chunk.toString())));
    stream.write(Buffer.from('$ '));
    expect(await seen).toBe('$ ');
    stream.destroy();
  });
});

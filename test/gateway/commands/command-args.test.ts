import { describe, expect, it } from 'vitest';
import { parseCommandArgs } from '../../../gateway/commands/command-args.ts';
import { run as demo } from '../../../gateway/commands/demo.ts';
import { run as serve } from '../../../gateway/commands/serve.ts';

describe('command line parsing', () => {
  it('returns the parsed values and positionals of a valid command line', () => {
    const parsed = parseCommandArgs(
      { args: ['--config', 'g.yaml', 'x'], allowPositionals: true, options: { config: { type: 'string' } } },
      'usage: t',
    );
    expect(parsed.values.config).toBe('g.yaml');
    expect(parsed.positionals).toEqual(['x']);
  });

  it('turns an unknown option into a usage error with the given code, ending with the usage', () => {
    const attempt = () => parseCommandArgs({ args: ['--nope'], options: {} }, 'usage: t [--x]', 't.usage');
    expect(attempt).toThrow(
      expect.objectContaining({ code: 't.usage', message: expect.stringMatching(/--nope[\s\S]*\nusage: t \[--x\]$/) }),
    );
  });

  it('refuses a misspelt option of serve and demo with a usage error instead of a TypeError', async () => {
    await expect(serve(['--confg', 'gatehouse.yaml'])).rejects.toMatchObject({
      code: 'cli.usage',
      message: expect.stringContaining('usage: gatehouse serve'),
    });
    await expect(demo(['--cii'])).rejects.toMatchObject({
      code: 'cli.usage',
      message: expect.stringContaining('usage: gatehouse demo'),
    });
  });
});

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('gatehouse demo --ci', () => {
  it('runs the simulated CI job end to end and reports every step as it behaved', async () => {
    const { stdout } = await run(process.execPath, ['bin/gatehouse.js', 'demo', '--ci'], {
      timeout: 120_000,
      env: { ...process.env, NO_COLOR: '1' },
    });
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines[0]!) as { ok: boolean; steps: { step: string; ok: boolean; detail: string }[] };
    const byStep = (words: string) => summary.steps.find((s) => s.step.includes(words));
    expect(summary.steps.map((s) => [s.step, s.ok])).toEqual([
      ['exchange the job’s OIDC token for a session and start the local proxy', true],
      ['an ordinary read', true],
      ['a read of sensitive columns comes back masked', true],
      ['DROP TABLE is blocked by policy', true],
      ['an UPDATE waits for approval, a reviewer approves, it runs', true],
      ['the session’s audit trail verifies (hash chain and signature)', true],
    ]);
    expect(byStep('ordinary read')!.detail).toContain('24 orders');
    expect(byStep('masked')!.detail).not.toMatch(/@|4111111111111111/);
    expect(byStep('DROP')!.detail).toContain('42501');
    expect(byStep('approval')!.detail).toMatch(/held as apr_\w+, approved, 1 row updated/);
    expect(summary.ok).toBe(true);
  }, 150_000);
});

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecorder } from '../../../gateway/audit/recorder.ts';
import { loadAuditSigningKey } from '../../../gateway/audit/signing-key.ts';
import { verifySession } from '../../../gateway/audit/verify-session.ts';
import { createStore } from '../../../gateway/store/create-store.ts';
import { ENGINES, type EngineStore } from '../store/store-engines.ts';

const WRITER = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs the writer until it has acknowledged `atLeast` events, then SIGKILLs it; returns the last acknowledged count. */
function runAndKill(location: string, sessionId: string, atLeast: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, location, sessionId], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let acknowledged = 0;
    let stderr = '';
    let buffered = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`writer acknowledged only ${acknowledged} events in time: ${stderr}`));
    }, 45_000);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) acknowledged = Math.max(acknowledged, Number(line.split(' ')[1]));
      if (acknowledged >= atLeast && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL' && acknowledged >= atLeast) resolve(acknowledged);
      else reject(new Error(`writer exited (${signal ?? _code}) after ${acknowledged} events: ${stderr}`));
    });
  });
}

describe.each(ENGINES)('crash recovery on $name', (engine) => {
  let ctx: EngineStore;
  beforeAll(async () => {
    ctx = await engine.open();
    await ctx.store.close();
  });
  afterAll(async () => {
    await ctx?.drop();
  });

  it('closes a session left open by a killed gateway with gateway-restart, and its chain verifies', async () => {
    const sessionId = randomUUID();
    const acknowledged = await runAndKill(ctx.location, sessionId, 24);

    const store = await createStore(ctx.location);
    try {
      const before = await store.listAuditEvents(sessionId);
      expect(before.length).toBeGreaterThanOrEqual(acknowledged);
      expect(before.at(-1)!.type).toBe('statement');

      const closed = await createRecorder({ store }).closeOrphans();
      expect(closed).toContain(sessionId);

      const after = await store.listAuditEvents(sessionId);
      expect(after.slice(-2).map((e) => [e.type, e.data.reason ?? null])).toEqual([
        ['session.end', 'gateway-restart'],
        ['seal', null],
      ]);
      expect((await store.getSession(sessionId))?.endReason).toBe('gateway-restart');
      const result = await verifySession(store, sessionId, (await loadAuditSigningKey(store)).publicKey);
      expect(result).toMatchObject({ ok: true, events: before.length + 2, problems: [] });
      expect(await createRecorder({ store }).closeOrphans()).not.toContain(sessionId);
    } finally {
      await store.close();
    }
  });
});

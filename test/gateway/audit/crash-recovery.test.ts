import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDiskJournal } from '../../../gateway/audit/journal/disk-journal.ts';
import { createRecorder } from '../../../gateway/audit/recorder.ts';
import { generateAuditSigningKey } from '../../../gateway/audit/signing-key.ts';
import { verifySession } from '../../../gateway/audit/verify-session.ts';
import type { AuditDurability } from '../../../gateway/config/config-types.ts';
import { createStore } from '../../../gateway/store/create-store.ts';
import { ENGINES, type EngineStore } from '../store/store-engines.ts';

const WRITER = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs the writer until it has acknowledged `atLeast` events, then SIGKILLs it; returns the last acknowledged count. */
function runAndKill(args: string[], atLeast: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, ...args], {
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

const DURABILITIES: AuditDurability[] = ['write', 'fsync', 'store'];

describe.each(ENGINES)('crash recovery on $name', (engine) => {
  let ctx: EngineStore;
  const dirs: string[] = [];
  beforeAll(async () => {
    ctx = await engine.open();
    await ctx.store.close();
  });
  afterAll(async () => {
    await ctx?.drop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  // Every durability on the real server; the embedded engine (seconds per start) runs the default.
  it.each(engine.name === 'postgres' ? DURABILITIES : DURABILITIES.slice(0, 1))(
    'with durability %s, ships what a kill -9 left in the journal, then closes the session with gateway-restart so it verifies',
    async (durability) => {
      const sessionId = randomUUID();
      const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-crash-journal-'));
      dirs.push(dir);
      const acknowledged = await runAndKill([ctx.location, sessionId, dir, durability], 200);

      const store = await createStore(ctx.location);
      const key = generateAuditSigningKey();
      const log: string[] = [];
      const recorder = createRecorder({
        store,
        key,
        gatewayId: 'crash-gw',
        log: (m) => log.push(m),
        journal: (checkpoint) => openDiskJournal({ dir, maxBytes: 64 << 20, checkpoint }),
      });
      try {
        expect(await recorder.closeOrphans('gateway-restart', { gatewayId: 'crash-gw' })).toEqual([sessionId]);
        await recorder.flush();
        const events = await store.listAuditEvents(sessionId);
        const statements = events.filter((e) => e.type === 'statement');
        expect(statements.length + 1).toBeGreaterThanOrEqual(acknowledged);
        const texts = new Set(statements.map((e) => e.data.text));
        for (let n = 0; n < acknowledged - 1; n++) expect(texts.has(`SELECT ${n}`)).toBe(true);
        expect(events.slice(-2).map((e) => [e.type, e.data.reason ?? null])).toEqual([
          ['session.end', 'gateway-restart'],
          ['seal', null],
        ]);
        expect((await store.getSession(sessionId))?.endReason).toBe('gateway-restart');
        const result = await verifySession(store, sessionId, key.publicKey);
        expect(result).toMatchObject({ ok: true, problems: [] });
        expect(log.filter((m) => m.includes('does not end in the store'))).toEqual([]);
      } finally {
        await recorder.close();
        await store.close();
      }
    },
    60_000,
  );
});

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createStore, describeLocation } from '../../../gateway/store/create-store.ts';
import { LOCK_FILE } from '../../../gateway/store/data-dir-lock.ts';
import { createTestDatabase, usingRealServer } from '../../support/pg-target.ts';
import { freshPgliteDir } from './pglite-template.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-create-store-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('createStore', () => {
  it('opens an embedded store in a directory, keeps its data across reopen, and locks it while open', async () => {
    const dir = path.join(tempDir(), 'data');
    const store = await createStore(dir);
    try {
      await store.putSecretIfAbsent('greeting', 'hello');
      expect(existsSync(path.join(dir, LOCK_FILE))).toBe(true);
      await expect(createStore(dir)).rejects.toMatchObject({
        code: 'store.locked',
        message: expect.stringMatching(/in use by process/),
      });
    } finally {
      await store.close();
    }
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    const reopened = await createStore(dir);
    try {
      expect(await reopened.getSecret('greeting')).toBe('hello');
    } finally {
      await reopened.close();
    }
  });

  it('takes over a lock left by a process that no longer exists', async () => {
    const dir = await freshPgliteDir();
    dirs.push(dir);
    writeFileSync(path.join(dir, LOCK_FILE), '2147483646\n');
    const store = await createStore(dir);
    await store.close();
    expect(existsSync(path.join(dir, LOCK_FILE))).toBe(false);
  });

  if (usingRealServer())
    it('opens a migrated PostgreSQL store from a postgres:// URL', async () => {
      const db = await createTestDatabase('');
      try {
        const store = await createStore(db.url);
        try {
          expect(await store.putSecretIfAbsent('k', 'v')).toBe('v');
          expect(await store.listOpenSessions()).toEqual([]);
        } finally {
          await store.close();
        }
      } finally {
        await db.drop();
      }
    });

  it('names an unreachable PostgreSQL store without showing its password', async () => {
    const error = await createStore('postgres://gatehouse:hunter2@127.0.0.1:1/nowhere').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'store.unavailable' });
    expect((error as Error).message).toContain('127.0.0.1:1');
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('refuses an empty location with a hint', async () => {
    await expect(createStore('')).rejects.toMatchObject({
      code: 'store.location',
      message: expect.stringMatching(/store:/),
    });
  });

  it('masks the password when describing a location', () => {
    expect(describeLocation('postgres://u:secret@h:5432/db')).toBe('postgres://u:***@h:5432/db');
    expect(describeLocation('./.gatehouse')).toBe('./.gatehouse');
  });
});

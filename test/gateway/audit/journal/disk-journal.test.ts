import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../../gateway/audit/canonical-json.ts';
import { EMPTY_CHAIN, linkEvent } from '../../../../gateway/audit/hash-chain.ts';
import { openDiskJournal } from '../../../../gateway/audit/journal/disk-journal.ts';
import type { JournalHead } from '../../../../gateway/audit/journal/journal.ts';
import { checkpointLine, eventLine } from '../../../../gateway/audit/journal/journal-lines.ts';
import { readJournal } from '../../../../gateway/audit/journal/journal-reader.ts';
import type { AuditEventRecord } from '../../../../gateway/store/store.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-journal-'));
  dirs.push(dir);
  return dir;
}

/** A chain of `n` statements of session s1 on chain c1, as journal lines. */
function chain(n: number, from: AuditEventRecord | typeof EMPTY_CHAIN = EMPTY_CHAIN): AuditEventRecord[] {
  const events: AuditEventRecord[] = [];
  let head = from;
  for (let i = 0; i < n; i++) {
    const event = linkEvent(head, {
      sessionId: 's1',
      chain: 'c1',
      type: 'statement',
      at: new Date('2026-03-01T12:00:00.000Z'),
      data: { text: `SELECT ${i}`, decision: 'allow', rule: 'r' },
    });
    events.push(event);
    head = event;
  }
  return events;
}

const lines = (events: AuditEventRecord[]) => events.map((e) => eventLine(e, canonicalJson(e.data))).join('');

describe('openDiskJournal', () => {
  it('gives back every appended event after a restart, with the open chain heads', async () => {
    const dir = tempDir();
    const journal = openDiskJournal({ dir, maxBytes: 1 << 20, checkpoint: () => checkpointLine([]) });
    journal.recover();
    const events = chain(5);
    await journal.append(lines(events.slice(0, 2)), false);
    await journal.append(lines(events.slice(2)), true);
    await journal.close();

    const again = openDiskJournal({ dir, maxBytes: 1 << 20, checkpoint: () => checkpointLine([]) });
    const recovery = again.recover();
    expect(recovery.problems).toEqual([]);
    expect(recovery.unshipped.map((e) => e.record.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(recovery.open).toEqual([
      expect.objectContaining({ chain: 'c1', sessionId: 's1', seq: 5, hash: events[4]!.hash }),
    ]);
    await again.close();
  });

  it('drops a torn last line (a write cut by a crash) and appends after whole lines', async () => {
    const dir = tempDir();
    const journal = openDiskJournal({ dir, maxBytes: 1 << 20, checkpoint: () => checkpointLine([]) });
    journal.recover();
    const events = chain(3);
    await journal.append(lines(events.slice(0, 2)), false);
    await journal.close();
    const [segment] = readdirSync(dir).filter((f) => f.startsWith('seg-'));
    appendFileSync(path.join(dir, segment!), lines(events.slice(2)).slice(0, 40));

    const again = openDiskJournal({ dir, maxBytes: 1 << 20, checkpoint: () => checkpointLine([]) });
    const recovery = again.recover();
    expect(recovery.problems).toEqual([expect.stringContaining('a write cut by a crash')]);
    expect(recovery.unshipped.map((e) => e.record.seq)).toEqual([1, 2]);
    expect(readFileSync(path.join(dir, segment!), 'utf8').endsWith('\n')).toBe(true);
    await again.close();
  });

  it('skips an event that does not follow its chain (edited in the file) and says where', async () => {
    const dir = tempDir();
    const journal = openDiskJournal({ dir, maxBytes: 1 << 20, checkpoint: () => checkpointLine([]) });
    journal.recover();
    await journal.append(lines(chain(3)).replace('SELECT 1', 'SELECT 9'), false);
    await journal.close();
    const recovery = readJournal(dir, { repair: false });
    expect(recovery.problems).toEqual([
      expect.stringMatching(/event 2 of session s1 does not follow its chain/),
      expect.stringMatching(/event 3 of session s1 does not follow its chain/),
    ]);
    expect(recovery.open[0]).toMatchObject({ seq: 1 });
  });

  it('starts each segment with the open heads and deletes segments once shipped past them', async () => {
    const dir = tempDir();
    const events = chain(40);
    let heads: JournalHead[] = [];
    const journal = openDiskJournal({
      dir,
      maxBytes: 1 << 20,
      segmentBytes: 2048,
      checkpoint: () => checkpointLine(heads),
    });
    journal.recover();
    let last = { segment: 0, offset: 0 };
    for (const event of events) {
      last = await journal.append(lines([event]), false);
      heads = [
        { chain: 'c1', sessionId: 's1', seq: event.seq, hash: event.hash, at: event.at.toISOString(), start: false },
      ];
    }
    const before = readdirSync(dir).filter((f) => f.startsWith('seg-'));
    expect(before.length).toBeGreaterThan(3);
    journal.shipped(last);
    const after = readdirSync(dir).filter((f) => f.startsWith('seg-'));
    expect(after).toEqual([before.at(-1)]);
    expect(journal.bytes()).toBe(readFileSync(path.join(dir, after[0]!)).length);
    await journal.close();

    const recovery = readJournal(dir, { repair: false });
    expect(recovery.unshipped).toEqual([]);
    expect(recovery.open).toEqual([expect.objectContaining({ seq: 40, hash: events[39]!.hash })]);
  });

  it('refuses an append beyond max_bytes with audit.journal-full and keeps what it has', async () => {
    const dir = tempDir();
    const journal = openDiskJournal({ dir, maxBytes: 65536, checkpoint: () => checkpointLine([]) });
    journal.recover();
    const events = chain(400);
    let accepted = 0;
    let refusal: unknown;
    for (const event of events) {
      try {
        await journal.append(lines([event]), false);
        accepted++;
      } catch (error) {
        refusal = error;
        break;
      }
    }
    expect(accepted).toBeGreaterThan(100);
    expect(refusal).toMatchObject({
      code: 'audit.journal-full',
      message: expect.stringContaining('audit.journal.max_bytes'),
    });
    expect(journal.bytes()).toBeLessThanOrEqual(65536);
    await journal.close();
    expect(readJournal(dir, { repair: false }).unshipped).toHaveLength(accepted);
  });

  it('refuses with audit.journal-unwritable when its directory is gone', async () => {
    const dir = tempDir();
    const journal = openDiskJournal({
      dir,
      maxBytes: 1 << 20,
      segmentBytes: 1024,
      checkpoint: () => checkpointLine([]),
    });
    journal.recover();
    await journal.append(lines(chain(8)), false);
    rmSync(dir, { recursive: true, force: true });
    await expect(journal.append(lines(chain(1)), false)).rejects.toMatchObject({
      code: 'audit.journal-unwritable',
      message: expect.stringContaining('commands are refused'),
    });
    await journal.close();
  });

  it('lets only one process (or journal) use a directory at a time', async () => {
    const dir = tempDir();
    const journal = openDiskJournal({ dir, maxBytes: 1 << 20, checkpoint: () => checkpointLine([]) });
    expect(() => openDiskJournal({ dir, maxBytes: 1 << 20, checkpoint: () => '' })).toThrow(
      /set audit.journal.dir per replica/,
    );
    await journal.close();
    expect(existsSync(path.join(dir, 'gatehouse.lock'))).toBe(false);
  });
});

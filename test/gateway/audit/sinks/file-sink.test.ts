import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFileSink } from '../../../../gateway/audit/sinks/file-sink.ts';
import type { AuditEventWire } from '../../../../wire/audit-events.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-file-sink-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function event(seq: number): AuditEventWire {
  return {
    session_id: 's1',
    seq,
    type: 'statement',
    at: '2026-03-01T12:00:00.000Z',
    data: { text: `SELECT ${seq}` },
    prev_hash: 'p',
    hash: `h${seq}`,
  };
}

describe('file sink', () => {
  it('appends one JSON line per event, in order', async () => {
    const file = path.join(dir, 'audit.jsonl');
    const sink = createFileSink({ path: file });
    for (let seq = 1; seq <= 5; seq++) sink.write(event(seq));
    await sink.close();
    const lines = readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditEventWire);
    expect(lines.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(lines[0]).toEqual(event(1));
    expect(sink.stats()).toMatchObject({ delivered: 5, failed: 0, dropped: 0, queued: 0 });
  });

  it('drops the oldest events beyond its queue bound and counts them', async () => {
    const file = path.join(dir, 'bounded.jsonl');
    const sink = createFileSink({ path: file, maxQueue: 3 });
    for (let seq = 1; seq <= 10; seq++) sink.write(event(seq));
    await sink.close();
    const seqs = readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as AuditEventWire).seq);
    expect(seqs).toEqual([8, 9, 10]);
    expect(sink.stats()).toMatchObject({ delivered: 3, dropped: 7 });
  });

  it('counts events it cannot write instead of throwing', async () => {
    const sink = createFileSink({ path: path.join(dir, 'missing-dir', 'audit.jsonl') });
    expect(() => sink.write(event(1))).not.toThrow();
    await sink.close();
    expect(sink.stats()).toMatchObject({ delivered: 0, failed: 1 });
  });
});

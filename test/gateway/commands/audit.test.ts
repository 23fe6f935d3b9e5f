import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUpAuditSigningKey } from '../../../gateway/audit/audit-key-setup.ts';
import { openDiskJournal } from '../../../gateway/audit/journal/disk-journal.ts';
import { createRecorder } from '../../../gateway/audit/recorder.ts';
import { run } from '../../../gateway/commands/audit.ts';
import { createPgliteExecutor } from '../../../gateway/store/pglite-executor.ts';
import { createStore } from '../../../gateway/store/create-store.ts';
import { freshPgliteDir } from '../store/pglite-template.ts';

function collector() {
  let text = '';
  return {
    out: { write: (chunk: string) => (text += chunk) },
    get text() {
      return text;
    },
  };
}

describe('gatehouse audit', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-audit-cli-'));
  const dataDir = path.join(dir, 'data');
  const good = randomUUID();
  const tampered = randomUUID();
  const open = randomUUID();

  beforeAll(async () => {
    renameSync(await freshPgliteDir(), dataDir);
    const store = await createStore(dataDir);
    let tick = 0;
    const key = await setUpAuditSigningKey({
      source: { signingKeyFile: path.join(dataDir, 'audit-signing-key.pem') },
      store,
      gatewayId: 'gw-test',
      log: () => {},
    });
    const recorder = createRecorder({
      store,
      key,
      clock: { now: () => new Date(Date.UTC(2026, 2, 1, 12, 0, tick++)) },
    });
    for (const id of [good, tampered]) {
      await recorder.sessionStarted(id, {
        claims: { repository: 'acme/app', ref: 'refs/heads/main', run_id: '42', actor: 'octocat' },
        connection: 'app-db',
      });
      await recorder.record(id, 'statement', {
        text: 'SELECT  email\nFROM customers',
        decision: 'allow',
        rule: 'reads',
      });
      await recorder.record(id, 'statement.result', { duration_ms: 3, rows: 2, bytes: 40, masked_values: 2 });
      await recorder.record(id, 'statement', { text: 'DROP TABLE customers', decision: 'deny', rule: 'no-drop' });
      await recorder.sessionEnded(id, 'disconnect');
    }
    await recorder.sessionStarted(open, { claims: { repository: 'acme/app' }, connection: 'app-db' });
    await recorder.record(open, 'statement', { text: 'SELECT 1', decision: 'allow', rule: 'reads' });
    await recorder.flush();
    await store.close();
    const raw = await createPgliteExecutor(dataDir);
    try {
      await raw.exec(`ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only;
        UPDATE audit_events SET data = '{"text":"SELECT 1","decision":"allow","rule":"reads"}' WHERE session_id = '${tampered}' AND seq = 2;
        ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only`);
    } finally {
      await raw.close();
    }
    writeFileSync(
      path.join(dir, 'gatehouse.yaml'),
      'store: ./data\nconnections:\n  app-db:\n    type: postgres\n    url: postgres://deployer@127.0.0.1:5432/app\n',
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('shows a session as text: time, type, decision, rule, rows and the statement', async () => {
    const c = collector();
    expect(await run(['show', good, '--store', dataDir], c.out)).toBe(0);
    const lines = c.text.trimEnd().split('\n');
    expect(lines[0]).toBe(`session ${good}  ended (disconnect)  sealed`);
    expect(lines[1]).toMatch(
      /^2026-03-01T12:00:00\.000Z\s+1\s+session\.start\s+acme\/app@refs\/heads\/main run 42 by octocat → app-db$/,
    );
    expect(lines[2]).toMatch(
      /^2026-03-01T12:00:01\.000Z\s+2\s+statement\s+allow\s+reads\s+SELECT email FROM customers$/,
    );
    expect(lines[3]).toMatch(/statement\.result\s+2\s+3ms 40B 2 masked$/);
    expect(lines[4]).toMatch(/statement\s+deny\s+no-drop\s+DROP TABLE customers$/);
    expect(lines[5]).toMatch(/session\.end\s+disconnect$/);
    expect(lines[6]).toMatch(/seal\s+sealed events 1-5 with key/);
  });

  it('shows a session as JSON lines with --json, reading the store from --config', async () => {
    const c = collector();
    expect(await run(['show', good, '--config', path.join(dir, 'gatehouse.yaml'), '--json'], c.out)).toBe(0);
    const events = c.text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { seq: number; type: string; data: Record<string, unknown> });
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events[3]).toMatchObject({ type: 'statement', data: { decision: 'deny', rule: 'no-drop' } });
  });

  it('verifies an intact session with the gateway key of --config, prints the final hash and exits 0', async () => {
    const c = collector();
    const err = collector();
    expect(await run(['verify', good, '--config', path.join(dir, 'gatehouse.yaml')], c.out, err.out)).toBe(0);
    expect(c.text).toMatch(/^verified 6 events, signature ok \(key [0-9a-f]{16}…\)\nfinal hash [0-9a-f]{64}\n$/);
    expect(err.text).toBe('');
  });

  it('warns loudly when only the store can say which key to trust', async () => {
    const c = collector();
    const err = collector();
    expect(await run(['verify', good, '--store', dataDir], c.out, err.out)).toBe(0);
    expect(err.text).toMatch(/^WARNING: no pinned audit key: verifying with the public keys the store itself lists/);
    const json = collector();
    await run(['verify', good, '--store', dataDir, '--json'], json.out, collector().out);
    expect(JSON.parse(json.text)).toMatchObject({ ok: true, keySource: 'store' });
  });

  it('verifies against a pinned public key printed by `audit key`', async () => {
    const keyOut = collector();
    expect(await run(['key', '--store', dataDir], keyOut.out)).toBe(0);
    expect(keyOut.text).toMatch(/BEGIN PUBLIC KEY/);
    const keyFile = path.join(dir, 'audit.pem');
    writeFileSync(keyFile, keyOut.text.split('\n').slice(1).join('\n'));
    const c = collector();
    const err = collector();
    expect(await run(['verify', good, '--store', dataDir, '--public-key', keyFile], c.out, err.out)).toBe(0);
    expect(err.text).toBe('');
  });

  it('fails verification with exit 1 naming the altered event', async () => {
    const c = collector();
    expect(await run(['verify', tampered, '--store', dataDir], c.out)).toBe(1);
    expect(c.text).toContain(`verification FAILED for session ${tampered}`);
    expect(c.text).toContain('event 2: event 2 (statement) was altered');
  });

  it('says an open session is intact but not sealed, and exits 1', async () => {
    const c = collector();
    expect(await run(['verify', open, '--store', dataDir], c.out)).toBe(1);
    expect(c.text).toMatch(/^chain of 2 events intact but NOT sealed: /);
  });

  it('verifies a session from an exported JSON-lines file with a pinned key', async () => {
    const keyOut = collector();
    await run(['key', '--store', dataDir], keyOut.out);
    const keyFile = path.join(dir, 'pinned.pem');
    writeFileSync(keyFile, keyOut.text);
    const exported = collector();
    await run(['show', good, '--store', dataDir, '--json'], exported.out);
    await run(['show', tampered, '--store', dataDir, '--json'], exported.out);
    const file = path.join(dir, 'export.jsonl');
    writeFileSync(file, exported.text);

    const ok = collector();
    expect(await run(['verify', good, '--file', file, '--public-key', keyFile], ok.out)).toBe(0);
    expect(ok.text).toMatch(/^verified 6 events, signature ok/);
    const bad = collector();
    expect(await run(['verify', tampered, '--file', file, '--public-key', keyFile, '--json'], bad.out)).toBe(1);
    expect(JSON.parse(bad.text)).toMatchObject({ ok: false, problems: [{ seq: 2, kind: 'altered' }] });
    await expect(run(['verify', good, '--file', file], collector().out)).rejects.toMatchObject({ code: 'cli.usage' });
  });

  it('verifies a session whose events are still only in a journal (the store was away), given that journal', async () => {
    const store = await createStore(dataDir);
    const key = await setUpAuditSigningKey({
      source: { signingKeyFile: path.join(dataDir, 'audit-signing-key.pem') },
      store,
      gatewayId: 'gw-test',
      log: () => {},
    });
    const away = Object.assign(Object.create(store) as typeof store, {
      shipAuditEvents: () => Promise.reject(new Error('connection refused')),
    });
    const journal = path.join(dir, 'journal');
    const recorder = createRecorder({
      store: away,
      key,
      sealSweepMs: 0,
      journal: (checkpoint) => openDiskJournal({ dir: journal, maxBytes: 1 << 20, checkpoint }),
    });
    const id = randomUUID();
    await recorder.sessionStarted(id, { claims: { repository: 'acme/app' }, connection: 'app-db' });
    await recorder.record(id, 'statement', { text: 'SELECT 1', decision: 'allow', rule: 'reads' });
    await recorder.sessionEnded(id, 'disconnect');
    await recorder.close();
    await store.close();

    const without = collector();
    expect(await run(['verify', id, '--config', path.join(dir, 'gatehouse.yaml')], without.out)).toBe(1);
    expect(without.text).toContain('has no events: its journal was lost before it shipped');
    const withJournal = collector();
    expect(
      await run(['verify', id, '--config', path.join(dir, 'gatehouse.yaml'), '--journal', journal], withJournal.out),
    ).toBe(0);
    expect(withJournal.text).toMatch(/^verified 4 events, signature ok/);
  });

  it('refuses a store directory that does not exist instead of creating one', async () => {
    await expect(run(['show', good, '--store', path.join(dir, 'typo')], collector().out)).rejects.toMatchObject({
      code: 'store.missing',
    });
    expect(existsSync(path.join(dir, 'typo'))).toBe(false);
  });

  it('replays through the playback module and says when a session recorded no shell', async () => {
    await expect(run(['replay', good, '--store', dataDir, '--asciicast'], collector().out)).rejects.toMatchObject({
      code: 'replay.none',
      message: expect.stringContaining(`gatehouse audit show ${good}`),
    });
  });

  it('says which session is unknown', async () => {
    await expect(run(['show', 'nope', '--store', dataDir], collector().out)).rejects.toMatchObject({
      code: 'audit.session-unknown',
    });
  });

  it('prints usage and exits 2 for an unknown subcommand, and asks for the session id', async () => {
    const c = collector();
    expect(await run(['frobnicate'], c.out)).toBe(2);
    expect(c.text).toContain('gatehouse audit verify <session>');
    await expect(run(['verify', '--store', dataDir], collector().out)).rejects.toMatchObject({ code: 'cli.usage' });
  });
});

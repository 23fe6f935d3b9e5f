import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUpAuditSigningKey } from '../../../gateway/audit/audit-key-setup.ts';
import { linkEvent } from '../../../gateway/audit/hash-chain.ts';
import { createRecorder } from '../../../gateway/audit/recorder.ts';
import { getSessionLog } from '../../../gateway/audit/session-log.ts';
import { keyIdOf, publicKeyPem, signSeal, type AuditSigningKey } from '../../../gateway/audit/signing-key.ts';
import { run } from '../../../gateway/commands/audit.ts';
import type { AuditEventRecord } from '../../../gateway/store/store.ts';
import { ENGINES, type EngineStore } from '../store/store-engines.ts';

function collector() {
  let text = '';
  return {
    out: { write: (chunk: string) => (text += chunk) },
    get text() {
      return text;
    },
  };
}

/**
 * What the store's owner can do without the gateway's key file: rewrite an event, re-hash every
 * event after it, re-sign the seal with a key of their own and list that key in the store.
 */
async function rewriteAsStoreOwner(ctx: EngineStore, sessionId: string): Promise<void> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const forger: AuditSigningKey = { privateKey, publicKey, keyId: keyIdOf(publicKey) };
  const events = await ctx.store.listAuditEvents(sessionId);
  const rewritten: AuditEventRecord[] = [];
  for (const event of events) {
    const previous = rewritten.at(-1) ?? { seq: 0, hash: '0'.repeat(64) };
    let data = event.data;
    if (event.seq === 2) data = { ...data, text: 'SELECT 1 /* nothing to see */' };
    if (event.type === 'seal') {
      const end = rewritten.at(-1)!;
      data = {
        ...data,
        final_hash: end.hash,
        key_id: forger.keyId,
        signature: signSeal(forger, sessionId, end.seq, end.hash),
      };
    }
    rewritten.push(linkEvent(previous, { sessionId, chain: event.chain, type: event.type, at: event.at, data }));
  }
  await ctx.sql.transaction(async (tx) => {
    await tx.exec('ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only');
    for (const e of rewritten)
      await tx.query(
        'UPDATE audit_events SET data = $1, prev_hash = $2, hash = $3 WHERE session_id = $4 AND chain = $5 AND seq = $6',
        [JSON.stringify(e.data), e.prevHash, e.hash, sessionId, e.chain ?? '', e.seq],
      );
    await tx.exec('ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only');
  });
  await ctx.store.putAuditKey({
    keyId: forger.keyId,
    publicKey: publicKeyPem(publicKey),
    gateway: 'gw-1',
    status: 'active',
    createdAt: new Date(),
  });
}

describe.each(ENGINES)('a log rewritten and re-signed by the owner of the $name store', (engine) => {
  let ctx: EngineStore;
  let dir: string;
  let keyFile: string;
  let sessionId: string;
  let published: string;
  beforeAll(async () => {
    ctx = await engine.open();
    dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-rewrite-'));
    const key = await setUpAuditSigningKey({
      source: { signingKeyFile: path.join(dir, 'audit-signing-key.pem') },
      store: ctx.store,
      gatewayId: 'gw-1',
      log: () => {},
    });
    keyFile = path.join(dir, 'pinned.pem');
    writeFileSync(keyFile, publicKeyPem(key.publicKey));
    const recorder = createRecorder({ store: ctx.store, key, durability: 'store', sealSweepMs: 0 });
    sessionId = randomUUID();
    await recorder.sessionStarted(sessionId, { claims: { repository: 'acme/app' }, connection: 'app-db' });
    await recorder.record(sessionId, 'statement', { text: 'DELETE FROM customers', decision: 'allow', rule: 'r' });
    await recorder.sessionEnded(sessionId, 'disconnect');
    published = (await getSessionLog(ctx.store, sessionId))!.final_hash!;
    await rewriteAsStoreOwner(ctx, sessionId);
    await ctx.store.close();
  });
  afterAll(async () => {
    await ctx?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes only when verify trusts the keys the store lists, and says loudly that it does', async () => {
    const c = collector();
    const err = collector();
    expect(await run(['verify', sessionId, '--store', ctx.location], c.out, err.out)).toBe(0);
    expect(err.text).toContain('WARNING: no pinned audit key');
  });

  it('fails against the pinned public key', async () => {
    const c = collector();
    expect(await run(['verify', sessionId, '--store', ctx.location, '--public-key', keyFile], c.out)).toBe(1);
    expect(c.text).toMatch(/the seal's signature \(event 4\) is not valid for this gateway's audit key \(it names key/);
  });

  it('fails against the final hash published when the session ended, whatever key it trusts', async () => {
    const c = collector();
    expect(
      await run(['verify', sessionId, '--store', ctx.location, '--expect', published], c.out, collector().out),
    ).toBe(1);
    expect(c.text).toContain(`not the expected ${published}: the log was rewritten after the session ended`);
  });
});

import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { configuredPublicKey, storedPublicKeys } from '../audit/audit-key-setup.ts';
import { toPublicKey } from '../audit/signing-key.ts';
import { verifyEvents, verifySession, type VerifyResult } from '../audit/verify-session.ts';
import { fromWireEvent } from '../audit/wire-event.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import type { Store } from '../store/store.ts';
import type { AuditEventWire } from '../../wire/audit-events.ts';
import {
  auditSources,
  journalEvents,
  parseAuditArgs,
  withStore,
  type AuditSources,
  type Output,
} from './audit-sources.ts';

/** Where the keys a verification trusted came from: anything but `pinned` is said loudly. */
type KeySource = 'pinned' | 'config' | 'store';

/**
 * `gatehouse audit verify <session>`: every chain of the session (store plus unshipped journal
 * events) against a pinned public key: `--public-key`, else the key of the `--config` gateway,
 * else (with a warning) the public keys the store itself lists. `--expect` compares the final hash
 * published when the session ended. Exit 0 only when everything holds.
 */
export async function verify(argv: string[], out: Output, err: Output): Promise<number> {
  const { values, positionals } = parseAuditArgs(argv, {
    json: { type: 'boolean' },
    'public-key': { type: 'string', multiple: true },
    file: { type: 'string' },
    expect: { type: 'string' },
  });
  const sessionId = positionals[0]!;
  const pinned = (values['public-key'] ?? []).filter((f): f is string => typeof f === 'string').map(readKey);
  const expect = typeof values.expect === 'string' ? values.expect : undefined;
  const { result, source } =
    typeof values.file === 'string'
      ? { result: verifyExport(values.file, sessionId, pinned, expect), source: 'pinned' as const }
      : await verifyStored(auditSources(values), sessionId, pinned, expect);
  if (source === 'store') {
    err.write(
      'WARNING: no pinned audit key: verifying with the public keys the store itself lists, so whoever can write the store can rewrite this log and re-sign it. Pin the key (--public-key from `gatehouse audit key`, or --config of the gateway) or check the published final hash (--expect).\n',
    );
  }
  if (values.json) out.write(`${JSON.stringify({ ...result, keySource: source })}\n`);
  else report(result, sessionId, expect, out);
  return result.ok ? 0 : 1;
}

async function verifyStored(
  sources: AuditSources,
  sessionId: string,
  pinned: KeyObject[],
  expect: string | undefined,
): Promise<{ result: VerifyResult; source: KeySource }> {
  const own = sources.config ? configuredPublicKey(sources.config.audit) : null;
  return withStore(sources, async (store) => {
    const { keys, source } =
      pinned.length > 0
        ? { keys: pinned, source: 'pinned' as const }
        : own
          ? { keys: [own], source: 'config' as const }
          : await storeKeys(store);
    const extraEvents = journalEvents(sources, sessionId);
    return { result: await verifySession(store, sessionId, keys, { expect, extraEvents }), source };
  });
}

async function storeKeys(store: Store): Promise<{ keys: KeyObject[]; source: KeySource }> {
  const keys = (await storedPublicKeys(store)).map((k) => k.key);
  if (keys.length === 0) {
    throw new GatehouseError(
      'audit.no-key',
      'the store lists no audit public key (no gateway has started on it since 0.2); pass --public-key or --config',
    );
  }
  return { keys, source: 'store' };
}

function report(result: VerifyResult, sessionId: string, expect: string | undefined, out: Output): void {
  const chains = result.chains.length > 1 ? ` in ${result.chains.length} chains` : '';
  if (result.ok) {
    out.write(`verified ${result.events} events${chains}, signature ok (key ${result.keyId.slice(0, 16)}…)\n`);
  } else if (result.problems.length > 0 && result.problems.every((problem) => problem.kind === 'unsealed')) {
    out.write(`chain of ${result.events} events intact but NOT sealed: ${result.problems[0]!.message}\n`);
  } else {
    out.write(`verification FAILED for session ${sessionId} (${result.events} events${chains}):\n`);
    for (const problem of result.problems)
      out.write(`  ${problem.chain ? `chain ${problem.chain} ` : ''}event ${problem.seq}: ${problem.message}\n`);
  }
  if (result.finalHash) out.write(`final hash ${result.finalHash}${expect && result.ok ? ' (as expected)' : ''}\n`);
}

/** Verifies a session from a JSON-lines export (the file sink), with a pinned key and no store. */
function verifyExport(file: string, sessionId: string, keys: KeyObject[], expect: string | undefined): VerifyResult {
  if (keys.length === 0) {
    throw new GatehouseError(
      'cli.usage',
      'verifying an exported file needs the audit public key: add --public-key key.pem (from `gatehouse audit key`)',
    );
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new GatehouseError(
      'audit.export-unreadable',
      `cannot read ${file}; pass the JSON-lines file the audit file sink writes`,
    );
  }
  const events = text
    .split('\n')
    .map((line, index) => ({ line: line.trim(), index }))
    .filter(({ line }) => line !== '')
    .map(({ line, index }) => {
      try {
        return JSON.parse(line) as AuditEventWire;
      } catch {
        throw new GatehouseError(
          'audit.export-invalid',
          `${file}:${index + 1} is not a JSON audit event; pass the file the audit file sink writes`,
        );
      }
    })
    .filter((event) => event.session_id === sessionId)
    .map(fromWireEvent);
  return verifyEvents(sessionId, events, keys, { expect });
}

/** A pinned key file: a PEM Ed25519 public (or private) key. */
export function readKey(file: string): KeyObject {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new GatehouseError(
      'audit.bad-public-key',
      `cannot read ${file}; pass the PEM file printed by \`gatehouse audit key\``,
    );
  }
  const key = toPublicKey(text);
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new GatehouseError(
      'audit.bad-public-key',
      `${file} is not an Ed25519 key; pass the PEM file printed by \`gatehouse audit key\``,
    );
  }
  return key;
}

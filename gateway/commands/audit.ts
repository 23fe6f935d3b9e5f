import { configuredPublicKey, storedPublicKeys } from '../audit/audit-key-setup.ts';
import { formatEventLine } from '../audit/format-event.ts';
import { getSessionLog } from '../audit/session-log.ts';
import { keyIdOf, publicKeyPem } from '../audit/signing-key.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { findRunningGateway } from '../operator/operator-client.ts';
import { OPERATOR_API_PATHS } from '../../wire/operator-api.ts';
import type { SessionLog } from '../../wire/session-log.ts';
import {
  auditSources,
  journalEvents,
  parseAuditArgs,
  USAGE,
  withStore,
  type AuditSources,
  type Output,
} from './audit-sources.ts';
import { verify } from './audit-verify.ts';

export type { Output } from './audit-sources.ts';

/** `gatehouse audit show|verify|key|replay`. Returns the exit code; warnings go to `err`. */
export async function run(argv: string[], out: Output = process.stdout, err: Output = process.stderr): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'show':
      return show(rest, out);
    case 'verify':
      return verify(rest, out, err);
    case 'key':
      return key(rest, out);
    case 'replay':
      return replay(rest, out);
    default:
      out.write(`${USAGE}\n`);
      return sub === undefined || sub === '--help' ? 0 : 2;
  }
}

async function show(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseAuditArgs(argv, { json: { type: 'boolean' } });
  const sessionId = positionals[0]!;
  const sources = auditSources(values);
  const log = await sessionLogOf(sources, sessionId);
  if (!log)
    throw new GatehouseError(
      'audit.session-unknown',
      `no session ${sessionId} in the store; check the id (the Action prints it) and --config/--store`,
    );
  if (values.json) {
    for (const event of log.events) out.write(`${JSON.stringify(event)}\n`);
    return 0;
  }
  out.write(
    `session ${log.session_id}  ${log.status}${log.end_reason ? ` (${log.end_reason})` : ''}  ${log.sealed ? 'sealed' : 'not sealed'}\n`,
  );
  const chains = new Set(log.events.map((e) => e.chain ?? ''));
  for (const event of log.events) out.write(`${formatEventLine(event, chains.size > 1)}\n`);
  if (log.final_hash) out.write(`final hash ${log.final_hash}\n`);
  return 0;
}

/**
 * The session's masked log: from the running gateway of `--config` when one answers (an embedded
 * store is locked while it runs), else from the store and the journals.
 */
async function sessionLogOf(sources: AuditSources, sessionId: string): Promise<SessionLog | null> {
  const gateway = sources.config && !sources.explicitStore ? await findRunningGateway(sources.config) : null;
  if (gateway) {
    try {
      return await gateway.get<SessionLog>(OPERATOR_API_PATHS.sessionLog.replace(':id', encodeURIComponent(sessionId)));
    } catch (error) {
      if (error instanceof GatehouseError && error.code === 'audit.session-unknown') return null;
      throw error;
    }
  }
  const unshipped = journalEvents(sources, sessionId);
  return withStore(sources, (store) => getSessionLog(store, sessionId, { pending: () => unshipped }));
}

/** Prints the key to pin: the `--config` gateway's own, else what the store lists (marked as such). */
async function key(argv: string[], out: Output): Promise<number> {
  const { values } = parseAuditArgs(argv, {}, 0);
  const sources = auditSources(values);
  const own = sources.config ? configuredPublicKey(sources.config.audit) : null;
  if (own) {
    out.write(`# key id ${keyIdOf(own)} (this gateway's signing key)\n${publicKeyPem(own)}`);
    return 0;
  }
  const listed = await withStore(sources, (store) => storedPublicKeys(store));
  const active = listed.filter((k) => !k.retired);
  if (active.length === 0)
    throw new GatehouseError(
      'audit.no-key',
      'the store lists no audit public key yet; start the gateway once, or run this with --config on the gateway host',
    );
  for (const { key: publicKey } of active)
    out.write(
      `# key id ${keyIdOf(publicKey)} (as the store lists it: compare with the gateway's key file)\n${publicKeyPem(publicKey)}`,
    );
  for (const { key: publicKey } of listed.filter((k) => k.retired))
    out.write(
      `# retired key ${keyIdOf(publicKey)}: it was kept in the store, so its seals prove nothing against the store's owner; pin it only to check logs sealed before it was retired\n${publicKeyPem(publicKey)}`,
    );
  return 0;
}

async function replay(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseAuditArgs(argv, {}, -1);
  const sessionId = positionals[0];
  if (!sessionId) throw new GatehouseError('cli.usage', `name the session id\n${USAGE}`);
  const { replaySession } = await import('../audit/replay.ts');
  return withStore(auditSources(values), (store) => replaySession({ store, sessionId, argv, out }));
}

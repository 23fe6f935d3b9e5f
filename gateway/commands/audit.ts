import { readFileSync } from 'node:fs';
import type { ParseArgsConfig } from 'node:util';
import { formatEventLine } from '../audit/format-event.ts';
import { getSessionLog } from '../audit/session-log.ts';
import { keyIdOf, storedAuditPublicKey, toPublicKey } from '../audit/signing-key.ts';
import { verifyEvents, verifySession, type VerifyResult } from '../audit/verify-session.ts';
import { fromWireEvent } from '../audit/wire-event.ts';
import { loadConfig } from '../config/load-config.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { createStore } from '../store/create-store.ts';
import type { Store } from '../store/store.ts';
import type { AuditEventWire } from '../../wire/audit-events.ts';
import { parseCommandArgs } from './command-args.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

const USAGE = `usage:
  gatehouse audit show <session> [--config gatehouse.yaml | --store LOCATION] [--json]
  gatehouse audit verify <session> [--config F | --store LOCATION] [--public-key key.pem] [--json]
  gatehouse audit verify <session> --file audit.jsonl --public-key key.pem   verify an exported log
  gatehouse audit key [--config F | --store LOCATION]      print the audit public key to pin
  gatehouse audit replay <session> [--config F | --store LOCATION] ...`;

/** Where text goes; the CLI passes process.stdout, tests pass a collector. */
export interface Output {
  write(text: string): unknown;
}

const STORE_OPTIONS = { config: { type: 'string' }, store: { type: 'string' } } as const satisfies Options;

/** `gatehouse audit show|verify|key|replay`. Returns the exit code. */
export async function run(argv: string[], out: Output = process.stdout): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'show':
      return show(rest, out);
    case 'verify':
      return verify(rest, out);
    case 'key':
      return key(rest, out);
    case 'replay':
      return replay(rest, out);
    default:
      out.write(`${USAGE}\n`);
      return sub === undefined || sub === '--help' ? 0 : 2;
  }
}

function parse<const O extends Options>(argv: string[], options: O, positionals = 1) {
  const parsed = parseCommandArgs(
    { args: argv, allowPositionals: true, strict: positionals >= 0, options: { ...STORE_OPTIONS, ...options } },
    USAGE,
  );
  if (positionals > 0 && parsed.positionals.length < positionals) {
    throw new GatehouseError('cli.usage', `name the session id\n${USAGE}`);
  }
  return parsed;
}

/** `--store` wins; else the `store:` of `--config` (default ./gatehouse.yaml). */
export function storeLocation(values: { store?: string | boolean; config?: string | boolean }): string {
  if (typeof values.store === 'string') return values.store;
  return loadConfig(typeof values.config === 'string' ? values.config : 'gatehouse.yaml').store;
}

async function withStore<T>(
  values: { store?: string | boolean; config?: string | boolean },
  fn: (store: Store) => Promise<T>,
): Promise<T> {
  const store = await createStore(storeLocation(values), { mustExist: true });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function show(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
  const sessionId = positionals[0]!;
  const log = await withStore(values, (store) => getSessionLog(store, sessionId));
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
  for (const event of log.events) out.write(`${formatEventLine(event)}\n`);
  return 0;
}

async function verify(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, {
    json: { type: 'boolean' },
    'public-key': { type: 'string' },
    file: { type: 'string' },
  });
  const sessionId = positionals[0]!;
  const exported = values.file;
  const result =
    typeof exported === 'string'
      ? verifyExport(exported, sessionId, values['public-key'])
      : await withStore(values, async (store) => {
          const file = values['public-key'];
          const publicKey = typeof file === 'string' ? readKey(file) : await storedAuditPublicKey(store);
          if (!publicKey) {
            throw new GatehouseError(
              'audit.no-key',
              'the store has no audit signing key yet (no session was ever sealed); pass --public-key or check --config/--store',
            );
          }
          return verifySession(store, sessionId, publicKey);
        });
  if (values.json) {
    out.write(`${JSON.stringify(result)}\n`);
  } else if (result.ok) {
    out.write(`verified ${result.events} events, signature ok (key ${result.keyId.slice(0, 16)}…)\n`);
  } else if (result.problems.every((problem) => problem.kind === 'unsealed')) {
    out.write(`chain of ${result.events} events intact but NOT sealed: ${result.problems[0]!.message}\n`);
  } else {
    out.write(`verification FAILED for session ${sessionId} (${result.events} events):\n`);
    for (const problem of result.problems) out.write(`  event ${problem.seq}: ${problem.message}\n`);
  }
  return result.ok ? 0 : 1;
}

async function key(argv: string[], out: Output): Promise<number> {
  const { values } = parse(argv, {}, 0);
  const publicKey = await withStore(values, (store) => storedAuditPublicKey(store));
  if (!publicKey)
    throw new GatehouseError(
      'audit.no-key',
      'the store has no audit signing key yet; it is created when the first session is sealed',
    );
  out.write(`# key id ${keyIdOf(publicKey)}\n${publicKey.export({ type: 'spki', format: 'pem' }).toString()}`);
  return 0;
}

async function replay(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, {}, -1);
  const sessionId = positionals[0];
  if (!sessionId) throw new GatehouseError('cli.usage', `name the session id\n${USAGE}`);
  const { replaySession } = await import('../audit/replay.ts');
  return withStore(values, (store) => replaySession({ store, sessionId, argv, out }));
}

/** Verifies a session from a JSON-lines export (the file sink), with a pinned key and no store. */
function verifyExport(file: string, sessionId: string, keyFile: string | boolean | undefined): VerifyResult {
  if (typeof keyFile !== 'string') {
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
    .sort((a, b) => a.seq - b.seq)
    .map(fromWireEvent);
  return verifyEvents(sessionId, events, readKey(keyFile));
}

function readKey(file: string) {
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

import type { ParseArgsConfig } from 'node:util';
import { readJournal } from '../audit/journal/journal-reader.ts';
import type { GatehouseConfig } from '../config/config-types.ts';
import { loadConfig } from '../config/load-config.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { createStore } from '../store/create-store.ts';
import type { AuditEventRecord, Store } from '../store/store.ts';
import { parseCommandArgs } from './command-args.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

export const USAGE = `usage:
  gatehouse audit show <session> [--config gatehouse.yaml | --store LOCATION] [--journal DIR]... [--json]
  gatehouse audit verify <session> [--config F | --store LOCATION] [--journal DIR]... [--public-key key.pem]...
                         [--expect FINAL_HASH] [--json]
  gatehouse audit verify <session> --file audit.jsonl --public-key key.pem   verify an exported log
  gatehouse audit key [--config F | --store LOCATION]      print the audit public key to pin
  gatehouse audit replay <session> [--config F | --store LOCATION] ...`;

/** Where text goes; the CLI passes process.stdout, tests pass a collector. */
export interface Output {
  write(text: string): unknown;
}

const SOURCE_OPTIONS = {
  config: { type: 'string' },
  store: { type: 'string' },
  journal: { type: 'string', multiple: true },
} as const satisfies Options;

/** Parses a subcommand's arguments (plus --config/--store/--journal); `positionals` = how many are required. */
export function parseAuditArgs<const O extends Options>(argv: string[], options: O, positionals = 1) {
  const parsed = parseCommandArgs(
    { args: argv, allowPositionals: true, strict: positionals >= 0, options: { ...SOURCE_OPTIONS, ...options } },
    USAGE,
  );
  if (positionals > 0 && parsed.positionals.length < positionals) {
    throw new GatehouseError('cli.usage', `name the session id\n${USAGE}`);
  }
  return parsed;
}

/** What the store options point at: the location, and the config when one was read. */
export interface AuditSources {
  location: string;
  config: GatehouseConfig | null;
  journals: string[];
  /** `--store` was given: read that store, never a running gateway. */
  explicitStore: boolean;
}

type SourceValues = { store?: string | boolean; config?: string | boolean; journal?: Array<string | boolean> };

/** `--store` wins; else `--config` (default ./gatehouse.yaml), whose journal directory is read too. */
export function auditSources(values: SourceValues): AuditSources {
  const journals = (values.journal ?? []).filter((j): j is string => typeof j === 'string');
  if (typeof values.store === 'string') return { location: values.store, config: null, journals, explicitStore: true };
  const config = loadConfig(typeof values.config === 'string' ? values.config : 'gatehouse.yaml');
  const own = config.audit.journal.dir;
  return { location: config.store, config, journals: own ? [own, ...journals] : journals, explicitStore: false };
}

export async function withStore<T>(sources: AuditSources, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await createStore(sources.location, { mustExist: true });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Events of a session that journals hold but have not shipped to the store (a gateway that crashed, or a store that was away). */
export function journalEvents(sources: AuditSources, sessionId: string): AuditEventRecord[] {
  return sources.journals.flatMap((dir) =>
    readJournal(dir, { repair: false })
      .unshipped.map((e) => e.record)
      .filter((record) => record.sessionId === sessionId),
  );
}

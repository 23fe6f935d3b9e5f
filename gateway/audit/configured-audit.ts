import type { GatehouseConfig } from '../config/config-types.ts';
import type { Store } from '../store/store.ts';
import { setUpAuditSigningKey } from './audit-key-setup.ts';
import { configuredJournal } from './journal/configured-journal.ts';
import {
  createRecorder,
  type Recorder,
  type RecorderClock,
  type RecorderOptions,
  type RecorderReads,
} from './recorder.ts';
import type { SessionLogOptions } from './session-log.ts';
import type { AuditSigningKey } from './signing-key.ts';
import { createConfiguredSinks } from './sinks/configured-sinks.ts';

/** The audit side of a running gateway, as gatehouse.yaml's `audit:` configures it. */
export interface ConfiguredAudit {
  recorder: Recorder;
  key: AuditSigningKey;
  /** What log reads merge in from the recorder's journal (events not yet in the store). */
  logReads: SessionLogOptions;
}

/**
 * Sets up the signing key (out of the store), the journal and the recorder, then recovers what a
 * previous run of this gateway left: ships its journal and closes the sessions it left open.
 * `build` is the benchmarks' seam for a recorder that writes nothing.
 */
export async function openConfiguredAudit(options: {
  config: GatehouseConfig;
  store: Store;
  clock: RecorderClock;
  gatewayId: string;
  log: (message: string) => void;
  build?: (options: RecorderOptions) => Recorder;
}): Promise<ConfiguredAudit> {
  const { config, store, gatewayId, log } = options;
  const key = await setUpAuditSigningKey({ source: config.audit, store, gatewayId, log });
  const recorder: Recorder & Partial<RecorderReads> = (options.build ?? createRecorder)({
    store,
    clock: options.clock,
    sampleRows: config.audit.sampleRows,
    sinks: createConfiguredSinks(config.audit),
    gatewayId,
    durability: config.audit.durability,
    journal: configuredJournal(config.audit),
    key,
    log,
  });
  const logReads = { pending: recorder.pending?.bind(recorder), settled: recorder.settled?.bind(recorder) };
  // A restarting replica closes only the sessions and approvals it held itself.
  const orphans = await recorder.closeOrphans('gateway-restart', { gatewayId });
  if (orphans.length > 0) log(`closed ${orphans.length} session(s) left open by a previous run (gateway-restart)`);
  return { recorder, key, logReads };
}

import { GatehouseError } from '../errors/gatehouse-error.ts';

/**
 * What a client is told when its command is refused because its audit event could not be kept
 * locally: the journal is full (the store has been away longer than the journal holds) or cannot
 * be written. Null for other failures, which keep the enforcement core's own wording.
 */
export function auditRefusalMessage(error: unknown): string | null {
  const code = error instanceof GatehouseError ? error.code : undefined;
  if (code === 'audit.journal-full')
    return "the gateway's audit journal is full because the audit store has been unreachable, so commands are refused until the journal has shipped to it";
  if (code === 'audit.journal-unwritable')
    return "the gateway's audit journal cannot be written, so commands are refused until it can";
  return null;
}

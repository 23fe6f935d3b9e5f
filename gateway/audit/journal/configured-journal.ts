import type { AuditConfig } from '../../config/config-types.ts';
import { openDiskJournal } from './disk-journal.ts';
import type { Journal } from './journal.ts';
import { createMemoryJournal } from './memory-journal.ts';

/** The journal gatehouse.yaml's `audit.journal` asks for, as `createRecorder`'s `journal` option. */
export function configuredJournal(audit: Pick<AuditConfig, 'journal'>): (checkpoint: () => string) => Journal {
  const { dir, maxBytes } = audit.journal;
  return (checkpoint) => (dir ? openDiskJournal({ dir, maxBytes, checkpoint }) : createMemoryJournal({ maxBytes }));
}

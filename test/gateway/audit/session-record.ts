import type { SessionRecord } from '../../../gateway/store/store.ts';

/** A stored session for recorder tests: open, 15 minutes long, from 2026-03-01 12:00 UTC. */
export function sessionRecord(id: string): SessionRecord {
  return {
    id,
    tokenHash: `t-${id}`,
    identityRule: 'main',
    claims: { repository: 'acme/app' },
    connections: ['app-db'],
    createdAt: new Date('2026-03-01T12:00:00.000Z'),
    expiresAt: new Date('2026-03-01T12:15:00.000Z'),
    endedAt: null,
    endReason: null,
    sshKeys: [],
  };
}

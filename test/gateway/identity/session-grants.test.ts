import { describe, expect, it } from 'vitest';
import { sessionGrants } from '../../../gateway/identity/session-grants.ts';

const now = new Date('2026-01-01T10:00:00Z');
const session = {
  sessionId: 's',
  identity: { sessionId: 's', claims: {} },
  connections: ['app-db'],
  expiresAt: new Date('2026-01-01T10:15:00Z'),
};

describe('the grant check', () => {
  it('grants a connection the live session names', () => {
    expect(sessionGrants(session, 'app-db', now)).toBe(true);
  });

  it('refuses a connection the session does not name, and a "*" it could never have been granted', () => {
    expect(sessionGrants(session, 'other-db', now)).toBe(false);
    expect(sessionGrants({ ...session, connections: ['*'] }, 'app-db', now)).toBe(false);
  });

  it('refuses every connection once the session expired', () => {
    expect(sessionGrants(session, 'app-db', new Date('2026-01-01T10:15:00Z'))).toBe(false);
  });
});

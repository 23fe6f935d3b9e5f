import { describe, expect, it } from 'vitest';
import { createLiveSessions } from '../../../gateway/enforcement/live-sessions.ts';
import type { SessionContext } from '../../../gateway/identity/session-context.ts';

function session(id: string, expiresInMs = 3600_000): SessionContext {
  return {
    sessionId: id,
    identity: { sessionId: id, claims: {} },
    connections: [],
    expiresAt: new Date(Date.now() + expiresInMs),
  };
}

describe('the live-session registry', () => {
  it('ends every connection of an ended session, whatever adapter opened it, and only that session', () => {
    const live = createLiveSessions({ now: () => new Date() });
    const ended: string[] = [];
    live.add(session('a'), 'postgres', (reason) => ended.push(`pg:${reason}`));
    live.add(session('a'), 'ssh', (reason) => ended.push(`ssh:${reason}`));
    live.add(session('b'), 'ssh', () => ended.push('other'));
    live.end('a', 'revoked');
    expect(ended).toEqual(['pg:revoked', 'ssh:revoked']);
    expect(live.count('a')).toBe(0);
    expect(live.count('b')).toBe(1);
    live.close();
  });

  it('ends only one owner when asked, and forgets released connections', () => {
    const live = createLiveSessions({ now: () => new Date() });
    const ended: string[] = [];
    const release = live.add(session('a'), 'postgres', () => ended.push('pg'));
    live.add(session('a'), 'tunnel', () => ended.push('tunnel'));
    release();
    live.end('a', 'disconnect', 'postgres');
    expect(ended).toEqual([]);
    live.end('a', 'disconnect', 'tunnel');
    expect(ended).toEqual(['tunnel']);
    live.close();
  });

  it('ends a session when its expiry passes, even if nothing else noticed', async () => {
    const live = createLiveSessions({ now: () => new Date() });
    const reasons: string[] = [];
    live.add(session('soon', 20), 'ssh', (reason) => reasons.push(reason));
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(reasons).toEqual(['expired']);
    live.close();
  });

  it('ends every connection on shutdown', () => {
    const live = createLiveSessions({ now: () => new Date() });
    const ended: string[] = [];
    live.add(session('a'), 'ssh', (reason) => ended.push(reason));
    live.add(session('b'), 'postgres', (reason) => ended.push(reason));
    live.endAll('gateway-restart');
    expect(ended).toEqual(['gateway-restart', 'gateway-restart']);
    live.close();
  });
});

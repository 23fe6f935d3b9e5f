import { describe, expect, it } from 'vitest';
import { checkLocalHttpAuth } from '../../../gateway/client/local-http-auth.ts';

const PASSWORD = 'local-pw-0123456789';
const head = (...headers: string[]) =>
  Buffer.from(`GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`);

describe('checkLocalHttpAuth', () => {
  it('accepts the local password as a bearer token, a gh-style token or a Basic password', () => {
    expect(checkLocalHttpAuth(head(`Authorization: Bearer ${PASSWORD}`), PASSWORD).kind).toBe('authenticated');
    expect(checkLocalHttpAuth(head(`authorization: token ${PASSWORD}`), PASSWORD).kind).toBe('authenticated');
    const basic = Buffer.from(`anyone:${PASSWORD}`).toString('base64');
    expect(checkLocalHttpAuth(head(`Authorization: Basic ${basic}`), PASSWORD).kind).toBe('authenticated');
  });

  it('waits for the whole head before deciding', () => {
    const full = head(`Authorization: Bearer ${PASSWORD}`);
    expect(checkLocalHttpAuth(full.subarray(0, full.length - 2), PASSWORD).kind).toBe('continue');
  });

  it('refuses a missing or wrong password with a 401 that says where the password is', () => {
    for (const input of [
      head(),
      head('Authorization: Bearer nope'),
      head(`Authorization: Basic ${Buffer.from(`${PASSWORD}:`).toString('base64')}`),
    ]) {
      const outcome = checkLocalHttpAuth(input, PASSWORD);
      expect(outcome.kind).toBe('rejected');
      if (outcome.kind !== 'rejected') continue;
      expect(outcome.response).toMatch(/^HTTP\/1\.1 401 Unauthorized\r\n/);
      expect(outcome.response).toContain('_TOKEN');
      expect(outcome.response).not.toContain(PASSWORD);
    }
  });

  it('refuses a head that never ends within 16 KiB', () => {
    const outcome = checkLocalHttpAuth(Buffer.from(`GET / HTTP/1.1\r\nX: ${'a'.repeat(17_000)}`), PASSWORD);
    expect(outcome.kind === 'rejected' && outcome.response).toMatch(/^HTTP\/1\.1 431 /);
  });
});

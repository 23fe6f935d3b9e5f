import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClientDeadlines } from '../../../gateway/http-adapter/client-deadlines.ts';
import { parseErrorRefusal } from '../../../gateway/http-adapter/parse-errors.ts';

const SETTINGS = { headersMs: 100, bodyMs: 200, idleMs: 300 };

describe('ClientDeadlines', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('expires a stream whose first head does not arrive in time', () => {
    const expired: string[] = [];
    new ClientDeadlines(SETTINGS, (code) => expired.push(code));
    vi.advanceTimersByTime(99);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual(['GATEHOUSE_HEADERS_TIMEOUT']);
  });

  it('expires a body that does not finish in time, and not one that does', () => {
    const expired: string[] = [];
    const deadlines = new ClientDeadlines(SETTINGS, (code) => expired.push(code));
    const first = deadlines.headReceived();
    vi.advanceTimersByTime(150);
    first.bodyDone();
    vi.advanceTimersByTime(1000);
    expect(expired).toEqual([]);
    deadlines.headReceived();
    vi.advanceTimersByTime(200);
    expect(expired).toEqual(['GATEHOUSE_BODY_TIMEOUT']);
  });

  it('runs no deadline while a response is held, then the idle one once it is sent', () => {
    const expired: string[] = [];
    const deadlines = new ClientDeadlines(SETTINGS, (code) => expired.push(code));
    deadlines.headReceived().bodyDone();
    vi.advanceTimersByTime(10_000);
    expect(expired).toEqual([]);
    deadlines.responseDone();
    vi.advanceTimersByTime(299);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual(['GATEHOUSE_HEADERS_TIMEOUT']);
  });

  it('runs nothing after stop', () => {
    const expired: string[] = [];
    const deadlines = new ClientDeadlines(SETTINGS, (code) => expired.push(code));
    deadlines.headReceived();
    deadlines.stop();
    vi.advanceTimersByTime(10_000);
    expect(expired).toEqual([]);
  });
});

describe('parseErrorRefusal', () => {
  it('names smuggling attempts as framing errors with the parser reason', () => {
    const refusal = parseErrorRefusal({ code: 'HPE_UNEXPECTED_CONTENT_LENGTH', reason: 'Duplicate Content-Length' });
    expect(refusal).toMatchObject({ status: 400, code: 'http.framing' });
    expect(refusal.message).toContain('(Duplicate Content-Length)');
    expect(refusal.message).toContain('never both');
  });

  it('maps oversized heads to 431, HTTP/2 prior knowledge to 505 and deadlines to 408', () => {
    expect(parseErrorRefusal({ code: 'HPE_HEADER_OVERFLOW' }).status).toBe(431);
    expect(parseErrorRefusal({ code: 'HPE_PAUSED_H2_UPGRADE' })).toMatchObject({
      status: 505,
      code: 'http.http2-prior-knowledge',
    });
    expect(parseErrorRefusal({ code: 'GATEHOUSE_BODY_TIMEOUT' })).toMatchObject({
      status: 408,
      code: 'http.body-timeout',
    });
  });

  it('falls back to 400 for an unknown parser error', () => {
    expect(parseErrorRefusal({ code: 'HPE_SOMETHING_NEW' })).toMatchObject({ status: 400, code: 'http.malformed' });
  });
});

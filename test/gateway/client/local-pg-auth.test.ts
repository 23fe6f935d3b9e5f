import fc from 'fast-check';
import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import {
  initialLocalPgAuthState,
  stepLocalPgAuth,
  type LocalPgAuthStep,
} from '../../../gateway/client/local-pg-auth.ts';

const options = { password: 'local-secret-123', database: 'app-db' };
const startup = serialize.startup({ user: 'ci', database: 'whatever', application_name: 'psql' });

function run(chunks: Buffer[]): LocalPgAuthStep & { allReplies: Buffer[] } {
  let state = initialLocalPgAuthState();
  let pending: Buffer = Buffer.alloc(0);
  const allReplies: Buffer[] = [];
  let step: LocalPgAuthStep | undefined;
  for (const chunk of chunks) {
    step = stepLocalPgAuth(state, Buffer.concat([pending, chunk]), options);
    allReplies.push(...step.replies);
    state = step.state;
    pending = step.rest;
    if (step.outcome.kind !== 'continue') break;
  }
  return { ...step!, allReplies };
}

function parseStartup(frame: Buffer): Record<string, string> {
  const parts = frame.subarray(8).toString('utf8').split('\0').slice(0, -2);
  const out: Record<string, string> = {};
  for (let i = 0; i < parts.length; i += 2) out[parts[i]!] = parts[i + 1]!;
  return out;
}

describe('local PostgreSQL password check', () => {
  it('asks for a cleartext password and forwards the startup with the connection as database', () => {
    const first = run([startup]);
    expect(first.outcome).toEqual({ kind: 'continue' });
    expect(first.replies).toEqual([Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])]);
    const done = stepLocalPgAuth(first.state, serialize.password('local-secret-123'), options);
    if (done.outcome.kind !== 'authenticated') throw new Error(JSON.stringify(done.outcome));
    expect(parseStartup(done.outcome.startup)).toEqual({
      user: 'ci',
      application_name: 'psql',
      client_encoding: 'UTF8',
      database: 'app-db',
    });
    expect(done.outcome.startup.readInt32BE(0)).toBe(done.outcome.startup.length);
  });

  it('refuses a wrong password with a FATAL 28P01 error', () => {
    const result = run([startup, serialize.password('guess')]);
    expect(result.outcome.kind).toBe('rejected');
    const error = result.allReplies.at(-1)!.toString('utf8');
    expect(error.startsWith('E')).toBe(true);
    expect(error).toContain('C28P01');
    expect(error).toContain('password authentication failed');
  });

  it('answers SSLRequest with N and keeps going, and keeps bytes sent after the password', () => {
    const trailing = serialize.query('select 1');
    const result = run([
      serialize.requestSsl(),
      startup,
      Buffer.concat([serialize.password('local-secret-123'), trailing]),
    ]);
    expect(result.allReplies[0]).toEqual(Buffer.from('N'));
    expect(result.outcome.kind).toBe('authenticated');
    expect(result.rest).toEqual(trailing);
  });

  it('passes a CancelRequest through without a password', () => {
    const result = run([serialize.cancel(1234, 5678)]);
    expect(result.outcome).toEqual({ kind: 'cancel', request: serialize.cancel(1234, 5678) });
  });

  it('refuses other protocol versions, oversized startups and non-password replies', () => {
    const v2 = Buffer.alloc(8);
    v2.writeInt32BE(8, 0);
    v2.writeInt32BE(2 << 16, 4);
    expect(run([v2]).outcome.kind).toBe('rejected');
    const huge = Buffer.alloc(8);
    huge.writeInt32BE(1_000_000, 0);
    expect(run([huge]).outcome.kind).toBe('rejected');
    expect(run([startup, serialize.query('select 1')]).outcome.kind).toBe('rejected');
  });

  it('gives the same result however the bytes are split', () => {
    const stream = Buffer.concat([serialize.requestSsl(), startup, serialize.password('local-secret-123')]);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 6 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const chunks = [0, ...points].map((start, i) => stream.subarray(start, points[i] ?? stream.length));
        expect(run(chunks).outcome.kind).toBe('authenticated');
      }),
      { numRuns: 100 },
    );
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const result = run([Buffer.from(bytes), serialize.password('x')]);
        expect(['continue', 'rejected', 'cancel', 'authenticated']).toContain(result.outcome.kind);
      }),
      { numRuns: 200 },
    );
  });
});

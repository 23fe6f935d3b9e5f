import { describe, expect, it } from 'vitest';
import { ResponseTracker, type Execution } from '../../../gateway/postgres/response-tracker.ts';

const execution = (): Execution => ({
  handle: undefined,
  startedAt: 0,
  rows: 0,
  bytes: 0,
  maskedValues: 0,
  sample: [],
  columns: [],
});

describe('ResponseTracker', () => {
  it('answers expectations in the order their messages were forwarded', () => {
    const tracker = new ResponseTracker();
    tracker.expect({ kind: 'parse' });
    tracker.expect({ kind: 'bind' });
    tracker.expect({ kind: 'sync' });
    expect(tracker.pending).toBe(3);
    expect(tracker.current?.kind).toBe('parse');
    expect([tracker.shift()?.kind, tracker.shift()?.kind, tracker.shift()?.kind]).toEqual(['parse', 'bind', 'sync']);
    expect(tracker.shift()).toBeUndefined();
    expect(tracker.pending).toBe(0);
  });

  it('skips to the next Sync after an error, returning what the target will not answer', () => {
    const tracker = new ResponseTracker();
    tracker.expect({ kind: 'parse' });
    tracker.expect({ kind: 'bind' });
    tracker.expect({ kind: 'execute', portal: '', entry: undefined, execution: execution() });
    tracker.expect({ kind: 'sync' });
    tracker.expect({ kind: 'parse' });
    expect(tracker.skipToSync().map((e) => e.kind)).toEqual(['parse', 'bind', 'execute']);
    expect(tracker.current?.kind).toBe('sync');
  });

  it('drops a COPY end that reached the target before its COPY started (no reply of its own)', () => {
    const tracker = new ResponseTracker();
    tracker.expect({ kind: 'copy-end' });
    tracker.expect({ kind: 'sync' });
    expect(tracker.current?.kind).toBe('sync');
    expect(tracker.pending).toBe(1);
  });

  it('on COPY FROM STDIN drops the Syncs after it and consumes its end, or names what else was sent', () => {
    const ended = new ResponseTracker();
    ended.expect({ kind: 'query', statementIndex: 0, execution: execution() });
    ended.expect({ kind: 'sync' });
    ended.expect({ kind: 'copy-end' });
    ended.expect({ kind: 'sync' });
    expect(ended.copyInStarted()).toEqual({ ended: true });
    expect([ended.shift()?.kind, ended.shift()?.kind, ended.shift()]).toEqual(['query', 'sync', undefined]);

    const open = new ResponseTracker();
    open.expect({ kind: 'query', statementIndex: 0, execution: execution() });
    expect(open.copyInStarted()).toEqual({ ended: false });

    const other = new ResponseTracker();
    other.expect({ kind: 'query', statementIndex: 0, execution: execution() });
    other.expect({ kind: 'parse' });
    expect(other.copyInStarted()).toEqual({ ended: false, unexpected: 'parse' });
  });

  it('keeps its order over many expectations while it compacts the queue', () => {
    const tracker = new ResponseTracker();
    for (let i = 0; i < 200; i++) tracker.expect({ kind: 'close', target: 'S', name: `s${i}`, entry: undefined });
    const names: string[] = [];
    for (let i = 0; i < 150; i++) {
      const next = tracker.shift();
      if (next?.kind === 'close') names.push(next.name);
    }
    expect(names[0]).toBe('s0');
    expect(names[149]).toBe('s149');
    expect(tracker.pending).toBe(50);
    expect(tracker.current).toMatchObject({ kind: 'close', name: 's150' });
  });
});

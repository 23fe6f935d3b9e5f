import type { Recorder } from '../gateway/audit/recorder.ts';

/**
 * A recorder that writes nothing, for the "audit off" side of a benchmark: the gateway's data
 * path with every audit write resolved at once, so on/off isolates what durable audit costs.
 */
export function createNullRecorder(): Recorder {
  const done = Promise.resolve();
  return {
    sessionStarted: () => done,
    record: () => done,
    sessionEnded: () => done,
    closeOrphans: () => Promise.resolve([]),
    flush: () => done,
    close: () => done,
  };
}

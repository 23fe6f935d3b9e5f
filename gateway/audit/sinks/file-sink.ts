import { appendFile } from 'node:fs/promises';
import type { AuditEventWire } from '../../../wire/audit-events.ts';
import { BoundedQueue, type AuditSink, type SinkStats } from './audit-sink.ts';

/** Where the file sink appends, from config `audit.file`; the queue bound keeps a slow disk off the data path. */
export interface FileSinkOptions {
  /** File to append JSON lines to (created if missing); config `audit.file`. */
  path: string;
  maxQueue?: number;
}

const LINES_PER_WRITE = 1000;

/** Appends each event as one JSON line, for log shippers that tail files. */
export function createFileSink(options: FileSinkOptions): AuditSink {
  const queue = new BoundedQueue<AuditEventWire>(options.maxQueue ?? 10_000);
  const counters = { delivered: 0, failed: 0 };
  let worker: Promise<void> | null = null;

  async function drain(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    while (queue.length > 0) {
      const batch = queue.take(LINES_PER_WRITE);
      try {
        await appendFile(options.path, batch.map((event) => `${JSON.stringify(event)}\n`).join(''), 'utf8');
        counters.delivered += batch.length;
      } catch {
        counters.failed += batch.length;
      }
    }
  }

  function kick(): void {
    worker ??= drain().finally(() => {
      worker = null;
      if (queue.length > 0) kick();
    });
  }

  return {
    name: `file:${options.path}`,
    write(event) {
      queue.push(event);
      kick();
    },
    stats(): SinkStats {
      return { queued: queue.length, dropped: queue.dropped, ...counters };
    },
    async close() {
      while (worker) await worker;
    },
  };
}

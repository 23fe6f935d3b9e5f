import pg from 'pg';

/** Clients running `SELECT '<prefix>-<client>-<n>'` one after another, remembering when each succeeded and when each was cut. */
export interface TimedLoad {
  /** Statement key → when (ms since the epoch) the gateway answered it with a result. */
  succeeded: Map<string, number>;
  /** Statement key → when (ms since the epoch) it was sent, for the statements that succeeded. */
  sentAt: Map<string, number>;
  errors: string[];
  /** When each client's connection was ended (ms since the epoch), once it was. */
  endedAt(): number[];
  /** Resolves once `count` statements succeeded. */
  reached(count: number): Promise<void>;
  /** Waits up to `graceMs` for the gateway to cut every client, then stops the rest. */
  stop(graceMs?: number): Promise<void>;
}

export function runTimedLoad(url: string, clients: number, prefix = 'k'): TimedLoad {
  const succeeded = new Map<string, number>();
  const sentAt = new Map<string, number>();
  const errors: string[] = [];
  const ended: number[] = [];
  let stopped = false;
  const loops = Array.from({ length: clients }, async (_, c) => {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => {});
    try {
      await client.connect();
      for (let n = 0; !stopped; n++) {
        const key = `${prefix}-${c}-${n}`;
        const sent = Date.now();
        await client.query(`SELECT '${key}' AS k`);
        succeeded.set(key, Date.now());
        sentAt.set(key, sent);
      }
    } catch (error) {
      ended.push(Date.now());
      errors.push((error as Error).message);
    } finally {
      await client.end().catch(() => {});
    }
  });
  return {
    succeeded,
    sentAt,
    errors,
    endedAt: () => [...ended],
    async reached(count) {
      for (let i = 0; i < 2400 && succeeded.size < count; i++) await new Promise((r) => setTimeout(r, 25));
      if (succeeded.size < count) throw new Error(`only ${succeeded.size} statements succeeded: ${errors.join('; ')}`);
    },
    async stop(graceMs = 5000) {
      await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, graceMs))]);
      stopped = true;
      await Promise.all(loops);
    },
  };
}

import { parentPort, workerData } from 'node:worker_threads';
import { createPgliteExecutor } from './pglite-executor.ts';
import { SqlStore } from './sql-store.ts';
import type { StoreReply, StoreRequest, WorkerStoreData } from './worker-protocol.ts';

/**
 * Worker-thread entry of the embedded store: owns the PGlite instance (and its data-directory
 * lock) so that its WASM CPU runs beside the gateway's data path instead of inside it.
 */
const port = parentPort!;
const { location } = workerData as WorkerStoreData;
let stopWatching: (() => void) | null = null;

function failure(error: unknown): StoreReply & { ok: false } {
  const e = error as { name?: unknown; message?: unknown; code?: unknown };
  return {
    id: 0,
    ok: false,
    error: {
      name: typeof e?.name === 'string' ? e.name : 'Error',
      message: typeof e?.message === 'string' ? e.message : String(error),
      code: typeof e?.code === 'string' ? e.code : undefined,
    },
  };
}

try {
  const store = new SqlStore(await createPgliteExecutor(location));
  port.on('message', (request: StoreRequest) => {
    if (request.method === 'watchApprovals') {
      stopWatching ??= store.onApprovalDecided((approvalId) => port.postMessage({ approvalId }));
      return;
    }
    if (request.method === 'unwatchApprovals') {
      stopWatching?.();
      stopWatching = null;
      return;
    }
    const method = store[request.method] as (...args: unknown[]) => Promise<unknown>;
    method.apply(store, request.args).then(
      (value) => port.postMessage({ id: request.id, ok: true, value } satisfies StoreReply),
      (error: unknown) => port.postMessage({ ...failure(error), id: request.id }),
    );
  });
  port.postMessage({ ready: true });
} catch (error) {
  port.postMessage({ ready: false, error: failure(error).error });
}

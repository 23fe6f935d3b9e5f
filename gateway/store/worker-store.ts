import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import type { Store } from './store.ts';
import {
  FORWARDED_METHODS,
  type ForwardedMethod,
  type StoreReply,
  type StoreRequest,
  type WireError,
  type WorkerEvent,
  type WorkerStoreData,
} from './worker-protocol.ts';

/**
 * Code that starts the worker: the entry is TypeScript, so the worker registers tsx first (a
 * worker does not inherit the parent's loader hooks, in tsx or under vitest).
 */
function bootstrap(entry: URL): string {
  if (!entry.pathname.endsWith('.ts')) return `import(${JSON.stringify(entry.href)})`;
  const api = new URL('esm/api/index.mjs', pathToFileURL(createRequire(import.meta.url).resolve('tsx'))).href;
  return `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
}

function revive(error: WireError): Error {
  if (error.name === 'GatehouseError' && error.code) return new GatehouseError(error.code, error.message);
  return Object.assign(new Error(error.message), error.code === undefined ? {} : { code: error.code });
}

/**
 * The embedded (PGlite) store run in a worker thread behind the {@link Store} interface. PGlite
 * is WASM on one thread: in the gateway's thread its INSERTs of audit events took about half of
 * the relay's CPU. Calls become messages; replies keep the order the worker produced them in,
 * and a worker that dies fails every pending and later call (`store.unavailable`), so audit
 * stays fail-closed. The worker is referenced only while a call is pending.
 */
export async function createWorkerStore(location: string): Promise<Store> {
  const entry = new URL('./store-worker.ts', import.meta.url);
  const worker = new Worker(bootstrap(entry), { eval: true, workerData: { location } satisfies WorkerStoreData });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void }>();
  const listeners = new Set<(id: string) => void>();
  let nextId = 1;
  let dead: GatehouseError | null = null;
  let ready: { resolve: () => void; reject: (error: unknown) => void } | null = null;

  const started = new Promise<void>((resolve, reject) => {
    ready = { resolve, reject };
  });

  function die(reason: string): void {
    if (dead) return;
    dead = new GatehouseError(
      'store.unavailable',
      `the embedded store's worker stopped (${reason}); restart the gateway`,
    );
    ready?.reject(dead);
    for (const call of pending.values()) call.reject(dead);
    pending.clear();
    worker.unref();
  }

  worker.on('message', (message: StoreReply | WorkerEvent) => {
    if ('ready' in message) {
      if (message.ready) ready?.resolve();
      else ready?.reject(revive(message.error));
      ready = null;
      return;
    }
    if ('approvalId' in message) {
      for (const fn of listeners) fn(message.approvalId);
      return;
    }
    const call = pending.get(message.id);
    if (!call) return;
    pending.delete(message.id);
    if (pending.size === 0) worker.unref();
    if (message.ok) call.resolve(message.value);
    else call.reject(revive(message.error));
  });
  worker.on('error', (error) => die(error.message));
  worker.on('exit', (code) => die(`exit code ${code}`));

  function call(method: ForwardedMethod, args: unknown[]): Promise<unknown> {
    if (dead) return Promise.reject(dead);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      if (pending.size === 1) worker.ref();
      worker.postMessage({ id, method, args } satisfies StoreRequest);
    });
  }

  function send(method: 'watchApprovals' | 'unwatchApprovals'): void {
    if (!dead) worker.postMessage({ id: 0, method, args: [] } satisfies StoreRequest);
  }

  try {
    await started;
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  worker.unref();

  const store = Object.fromEntries(
    FORWARDED_METHODS.map((method) => [method, (...args: unknown[]) => call(method, args)]),
  ) as unknown as Store;
  return Object.assign(store, {
    async close(): Promise<void> {
      if (dead) return;
      try {
        await call('close', []);
      } finally {
        listeners.clear();
        await worker.terminate();
        die('closed');
      }
    },
    onApprovalDecided(listener: (id: string) => void): () => void {
      listeners.add(listener);
      if (listeners.size === 1) send('watchApprovals');
      return () => {
        if (!listeners.delete(listener) || listeners.size > 0) return;
        send('unwatchApprovals');
      };
    },
  } satisfies Pick<Store, 'close' | 'onApprovalDecided'>);
}

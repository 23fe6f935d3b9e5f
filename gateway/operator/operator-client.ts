import type { GatehouseConfig } from '../config/config-types.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { lockHolder } from '../store/data-dir-lock.ts';
import { storeKind } from '../store/store-location.ts';
import { operatorHandleFile, readOperatorHandle, type OperatorHandle } from './operator-handle.ts';

/** The operator API of one running gateway, as the CLI calls it. */
export interface OperatorClient {
  url: string;
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
}

const PROBE_TIMEOUT_MS = 2_000;
const STARTING_GATEWAY_WAIT_MS = 30_000;
const CALL_TIMEOUT_MS = 30_000;

/**
 * The running gateway of `config`, or null when none answers (the CLI then falls back to the
 * store). Its URL is `--gateway`, else the handle file `serve` wrote, else `listen.http`; its
 * token is `operator.token`, else the handle's. An explicit `--gateway` that does not answer is an
 * error, not a fallback, so an operator never acts on the wrong store by mistake.
 */
export async function findRunningGateway(
  config: Pick<GatehouseConfig, 'operator' | 'store' | 'file' | 'listen'>,
  explicitUrl?: string,
): Promise<OperatorClient | null> {
  const handle = await handleOf(config);
  const url = (explicitUrl ?? handle?.url ?? listenUrl(config.listen.http))?.replace(/\/+$/, '');
  if (!url) return null;
  if (!(await answers(url))) {
    if (explicitUrl) throw new GatehouseError('operator.unreachable', `no gateway answers at ${url}; check --gateway`);
    return null;
  }
  const token = config.operator?.token ?? handle?.token;
  if (!token)
    throw new GatehouseError(
      'operator.no-token',
      `a gateway answers at ${url} but no operator token is known: set operator.token in ${config.file} (the same value the gateway uses), or run this on the gateway's host with its config`,
    );
  return createOperatorClient(url, token);
}

/**
 * The handle of the gateway on this host; when an embedded store is locked by a gateway that has
 * not written its handle yet (it is starting), waits for it rather than racing it for the store.
 */
async function handleOf(config: Pick<GatehouseConfig, 'store' | 'file'>): Promise<OperatorHandle | null> {
  const file = operatorHandleFile(config);
  const deadline = Date.now() + STARTING_GATEWAY_WAIT_MS;
  for (;;) {
    const handle = readOperatorHandle(file);
    if (handle) return handle;
    const starting = storeKind(config.store) === 'directory' && lockHolder(config.store) !== null;
    if (!starting || Date.now() > deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function listenUrl(listen: string): string | null {
  const at = listen.lastIndexOf(':');
  const port = Number(listen.slice(at + 1));
  if (!port) return null;
  const host = listen.slice(0, at);
  return `http://${!host || host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host}:${port}`;
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

function createOperatorClient(url: string, token: string): OperatorClient {
  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
    } catch (error) {
      throw new GatehouseError(
        'operator.unreachable',
        `the gateway at ${url} did not answer: ${(error as Error).message}`,
      );
    }
    const data = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    if (response.ok) return data as T;
    const problem = data?.error;
    throw new GatehouseError(
      problem?.code ?? 'operator.failed',
      problem?.message ?? `the gateway answered ${response.status} to ${method} ${path}`,
    );
  }
  return { url, get: (path) => call('GET', path), post: (path, body) => call('POST', path, body) };
}

import type {
  CreateSessionRequest,
  ErrorBody,
  RegisterSshKeyRequest,
  SessionGrant,
  SessionInfo,
  SshKeyRegistration,
} from '../../wire/control-api.ts';
import { CONTROL_API_PATHS } from '../../wire/control-api.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { withTrailingSlash } from './gateway-url.ts';

const TIMEOUT_MS = 15_000;

/** The few control API calls the local proxy makes; errors carry the gateway's code and message. */
export interface ControlClient {
  createSession(body: CreateSessionRequest): Promise<SessionGrant>;
  getSession(id: string, token: string): Promise<SessionInfo>;
  deleteSession(id: string, token: string): Promise<void>;
  registerSshKey(id: string, token: string, publicKey: string): Promise<SshKeyRegistration>;
}

/** A client of the control API at `gatewayUrl` (which may carry a path prefix). */
export function createControlClient(gatewayUrl: URL): ControlClient {
  const gateway = withTrailingSlash(gatewayUrl);
  async function call<T>(method: string, path: string, init: { body?: unknown; token?: string }): Promise<T> {
    let response: Response;
    try {
      response = await fetch(new URL(path.replace(/^\//, ''), gateway), {
        method,
        headers: {
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      throw new GatehouseError(
        'connect.gateway-unreachable',
        `cannot reach the gateway at ${gateway.origin} (${(error as Error).message}); check --gateway and the network`,
        { cause: error },
      );
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!response.ok) {
      const error = (body as Partial<ErrorBody> | undefined)?.error;
      const detail = error
        ? `${error.message}${error.hint ? ` (hint: ${error.hint})` : ''}`
        : `HTTP ${response.status}`;
      const rules = error?.rules?.length
        ? `; rules tried: ${error.rules.map((r) => `${r.rule} (failed: ${r.failed_claims.join(', ')})`).join('; ')}`
        : '';
      throw new GatehouseError(
        error?.code ?? 'connect.gateway-error',
        `the gateway refused ${method} ${path}: ${detail}${rules}`,
      );
    }
    return body as T;
  }

  return {
    createSession: (body) => call<SessionGrant>('POST', CONTROL_API_PATHS.sessions, { body }),
    getSession: (id, token) =>
      call<SessionInfo>('GET', `${CONTROL_API_PATHS.sessions}/${encodeURIComponent(id)}`, { token }),
    registerSshKey: (id, token, publicKey) =>
      call<SshKeyRegistration>('POST', `${CONTROL_API_PATHS.sessions}/${encodeURIComponent(id)}/ssh-keys`, {
        token,
        body: { public_key: publicKey } satisfies RegisterSshKeyRequest,
      }),
    deleteSession: async (id, token) => {
      await call<unknown>('DELETE', `${CONTROL_API_PATHS.sessions}/${encodeURIComponent(id)}`, { token });
    },
  };
}

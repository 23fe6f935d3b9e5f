import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local stand-in for the runner's OIDC token endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL`). */
export interface FakeOidcEndpoint {
  env: { ACTIONS_ID_TOKEN_REQUEST_URL: string; ACTIONS_ID_TOKEN_REQUEST_TOKEN: string };
  audiences: string[];
  close(): Promise<void>;
}

/**
 * Answers like GitHub's endpoint: the request URL already carries `?api-version=2.0`, the
 * toolkit appends `&audience=`, the bearer is the request token, the body is `{"value": jwt}`.
 */
export async function startFakeOidcEndpoint(
  mint: (audience: string) => Promise<string> | string,
): Promise<FakeOidcEndpoint> {
  const requestToken = `req-${Math.random().toString(36).slice(2)}`;
  const audiences: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.headers.authorization !== `Bearer ${requestToken}` || url.searchParams.get('api-version') !== '2.0') {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"Bad credentials"}');
      return;
    }
    const audience = url.searchParams.get('audience') ?? '';
    audiences.push(audience);
    Promise.resolve(mint(audience)).then(
      (value) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ count: 1, value })),
      () => res.writeHead(500).end(),
    );
  });
  const port = await listen(server);
  return {
    env: {
      ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${port}/token?api-version=2.0`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken,
    },
    audiences,
    close: () => close(server),
  };
}

export function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

export function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

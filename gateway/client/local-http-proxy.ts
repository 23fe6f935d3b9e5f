import type { Socket } from 'node:net';
import type { LocalConnection } from '../../wire/control-api.ts';
import { checkLocalHttpAuth } from './local-http-auth.ts';

/**
 * Serves one local HTTP client: its first request head must carry the local password, then the
 * connection's bytes (that head included) go to the tunnel untouched. A refused client gets a 401
 * and is closed before anything reaches the gateway.
 */
export function serveLocalHttp(
  client: Socket,
  password: string,
  open: (first: Buffer) => void,
  refused: (reason: string) => void,
): void {
  let buffered: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
    const outcome = checkLocalHttpAuth(buffered, password);
    if (outcome.kind === 'continue') return;
    client.off('data', onData);
    client.pause();
    if (outcome.kind === 'rejected') {
      refused(outcome.reason);
      return void client.end(outcome.response);
    }
    open(buffered);
  };
  client.on('data', onData);
}

/** The ready-line entry of an HTTP listener: its base URL (no secret in it) and the token clients send. */
export function localHttpConnection(name: string, host: string, port: number, password: string): LocalConnection {
  return { name, type: 'http', host, port, url: `http://${host}:${port}`, password };
}

/**
 * The ready-line entry of a Kubernetes listener: HTTPS on loopback with the proxy's own CA (kubectl
 * sends a bearer token only over TLS), and the local password kubectl sends as its token.
 */
export function localKubeConnection(
  name: string,
  host: string,
  port: number,
  password: string,
  ca: string,
  namespace?: string,
): LocalConnection {
  return {
    name,
    type: 'kubernetes',
    host,
    port,
    url: `https://${host}:${port}`,
    password,
    ca,
    ...(namespace ? { namespace } : {}),
  };
}

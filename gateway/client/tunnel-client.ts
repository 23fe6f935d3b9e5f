import type { Duplex } from 'node:stream';
import WebSocket, { createWebSocketStream } from 'ws';
import { CONTROL_API_PATHS, type ErrorBody } from '../../wire/control-api.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { withTrailingSlash } from './gateway-url.ts';

const OPEN_TIMEOUT_MS = 15_000;
/** Idle tunnels ping so proxies and load balancers in between do not cut a quiet psql session. */
const KEEPALIVE_MS = 25_000;

/**
 * Opens `/v1/tunnel/<connection>` as a WebSocket with the session token and returns it as a
 * byte stream. A refused upgrade rejects with the gateway's error code and message.
 */
export function openTunnel(gateway: URL, connection: string, sessionToken: string): Promise<Duplex> {
  const base = withTrailingSlash(gateway);
  const url = new URL(`${CONTROL_API_PATHS.tunnelPrefix.slice(1)}${encodeURIComponent(connection)}`, base);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${sessionToken}` },
      perMessageDeflate: false,
      handshakeTimeout: OPEN_TIMEOUT_MS,
    });
    ws.once('open', () => {
      const keepalive = setInterval(() => ws.ping(), KEEPALIVE_MS);
      keepalive.unref();
      ws.once('close', () => clearInterval(keepalive));
      resolve(createWebSocketStream(ws));
    });
    ws.once('unexpected-response', (_request, response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (text.length < 8192) text += chunk;
      });
      response.on('end', () => {
        let error: ErrorBody['error'] | undefined;
        try {
          error = (JSON.parse(text) as ErrorBody).error;
        } catch {
          error = undefined;
        }
        reject(
          new GatehouseError(
            error?.code ?? 'connect.tunnel-refused',
            `the gateway refused the tunnel to ${connection}: ${error?.message ?? `HTTP ${response.statusCode}`}`,
          ),
        );
        ws.terminate();
      });
    });
    ws.once('error', (error) =>
      reject(
        new GatehouseError('connect.tunnel-failed', `cannot open the tunnel to ${connection} (${error.message})`, {
          cause: error,
        }),
      ),
    );
  });
}

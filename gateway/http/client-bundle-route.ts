import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONTROL_API_PATHS } from '../../wire/control-api.ts';
import { sendError } from './json-io.ts';

/**
 * A route handler that answers and returns true for the client bundle path, false for anything
 * else, so it chains with the gateway's other extra routes.
 */
export type ClientBundleRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

interface LoadedBundle {
  body: Buffer;
  sha256: string;
}

/**
 * Serves `GET /v1/client/connect.mjs`: the gateway's own `gatehouse connect` bundle (built into
 * `actions/dist/`; the server passes its path), so every runner runs the client that matches the
 * gateway it talks to. The file is read on first use and kept; a missing bundle answers 404 with
 * the fix, and the action falls back to its own.
 */
export function createClientBundleRoute(bundlePath: string | URL): ClientBundleRoute {
  let loaded: LoadedBundle | null | undefined;
  const load = (): LoadedBundle | null => {
    if (loaded === undefined) {
      try {
        const body = readFileSync(bundlePath);
        loaded = { body, sha256: createHash('sha256').update(body).digest('hex') };
      } catch {
        loaded = null;
      }
    }
    return loaded;
  };

  return (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== CONTROL_API_PATHS.clientBundle) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(
        res,
        405,
        'method-not-allowed',
        `Use GET ${CONTROL_API_PATHS.clientBundle}`,
        {},
        { allow: 'GET, HEAD' },
      );
      return true;
    }
    const bundle = load();
    if (!bundle) {
      sendError(
        res,
        404,
        'client-bundle-missing',
        'This gateway has no client bundle: run `npm run build:actions` in its installation',
      );
      return true;
    }
    const etag = `"${bundle.sha256}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag }).end();
      return true;
    }
    res.writeHead(200, {
      'content-type': 'text/javascript; charset=utf-8',
      'content-length': bundle.body.length,
      'cache-control': 'public, max-age=300',
      etag,
      'x-content-sha256': bundle.sha256,
    });
    res.end(req.method === 'HEAD' ? undefined : bundle.body);
    return true;
  };
}

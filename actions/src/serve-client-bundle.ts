import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CLIENT_TOOL } from './client-bundle.ts';

/** Where the gateway finds the client bundle it serves; the bundle ships in `actions/dist/`. */
export const DEFAULT_CLIENT_BUNDLE = new URL('../dist/gatehouse-connect.mjs', import.meta.url);

/** What the gateway adds to its `GET /v1/version` answer so the action can fetch and verify the client. */
export interface ClientBundleInfo {
  url: string;
  sha256: string;
}

/** A route handler: answers and returns true for its path, returns false for anything else. */
export type ClientBundleHandler = ((req: IncomingMessage, res: ServerResponse) => boolean) & { info: () => ClientBundleInfo | undefined };

/**
 * Serves `GET /v1/client/connect.mjs`: the gateway's own `gatehouse connect` bundle, so every
 * runner runs the client that matches the gateway it talks to. The file is read on first use
 * and kept; a missing bundle answers 404 with the fix, and the action falls back to its own.
 */
export function createClientBundleHandler(bundlePath: string | URL = DEFAULT_CLIENT_BUNDLE): ClientBundleHandler {
  let loaded: { body: Buffer; sha256: string } | null | undefined;
  const load = (): { body: Buffer; sha256: string } | null => {
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

  const handler = ((req: IncomingMessage, res: ServerResponse): boolean => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== CLIENT_TOOL.path) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'method-not-allowed', message: `Use GET ${CLIENT_TOOL.path}` } }));
      return true;
    }
    const bundle = load();
    if (!bundle) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'client-bundle-missing', message: 'This gateway has no client bundle: run `npm run build:actions` in its installation' } }));
      return true;
    }
    const etag = `"${bundle.sha256}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag });
      res.end();
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
  }) as ClientBundleHandler;
  handler.info = () => {
    const bundle = load();
    return bundle ? { url: CLIENT_TOOL.path, sha256: bundle.sha256 } : undefined;
  };
  return handler;
}

import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientBundleRoute } from '../../../gateway/http/client-bundle-route.ts';

describe('the client bundle route', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bundle-'));
  const bundle = join(dir, 'gatehouse-connect.mjs');
  const body = 'console.log("client");\n';
  const sha256 = createHash('sha256').update(body).digest('hex');
  let server: Server;
  let base: string;

  beforeAll(async () => {
    writeFileSync(bundle, body);
    const present = createClientBundleRoute(bundle);
    const missing = createClientBundleRoute(join(dir, 'missing.mjs'));
    server = createServer((req, res) => {
      const route = req.headers['x-missing'] ? missing : present;
      if (!route(req, res)) res.writeHead(418).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the bundle with its sha256 as header and etag', async () => {
    const response = await fetch(`${base}/v1/client/connect.mjs`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await response.text()).toBe(body);
    expect(response.headers.get('x-content-sha256')).toBe(sha256);
    expect(response.headers.get('etag')).toBe(`"${sha256}"`);
  });

  it('answers 304 to a matching If-None-Match and leaves other paths to the next handler', async () => {
    expect((await fetch(`${base}/v1/client/connect.mjs`, { headers: { 'if-none-match': `"${sha256}"` } })).status).toBe(
      304,
    );
    expect((await fetch(`${base}/v1/other`)).status).toBe(418);
  });

  it('answers a JSON 405 naming the method to use for anything but GET and HEAD', async () => {
    const response = await fetch(`${base}/v1/client/connect.mjs`, { method: 'POST' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('method-not-allowed');
  });

  it('answers 404 naming the build command when the gateway has no bundle', async () => {
    const response = await fetch(`${base}/v1/client/connect.mjs`, { headers: { 'x-missing': '1' } });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain(
      'npm run build:actions',
    );
  });
});

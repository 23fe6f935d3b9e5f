import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientBundleHandler } from '../../../actions/src/serve-client-bundle.ts';
import { close, listen } from '../support/fake-github.ts';

describe('the client bundle route', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bundle-'));
  const bundle = join(dir, 'gatehouse-connect.mjs');
  const body = 'console.log("client");\n';
  const sha256 = createHash('sha256').update(body).digest('hex');
  let server: Server;
  let base: string;

  beforeAll(async () => {
    writeFileSync(bundle, body);
    const present = createClientBundleHandler(bundle);
    const missing = createClientBundleHandler(join(dir, 'missing.mjs'));
    server = createServer((req, res) => {
      const handler = req.headers['x-missing'] ? missing : present;
      if (!handler(req, res)) res.writeHead(418).end();
    });
    base = `http://127.0.0.1:${await listen(server)}`;
  });
  afterAll(async () => {
    await close(server);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the bundle with its sha256 and announces the same digest for /v1/version', async () => {
    const response = await fetch(`${base}/v1/client/connect.mjs`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await response.text()).toBe(body);
    expect(response.headers.get('x-content-sha256')).toBe(sha256);
    expect(createClientBundleHandler(bundle).info()).toEqual({ url: '/v1/client/connect.mjs', sha256 });
  });

  it('answers 304 to a matching If-None-Match and leaves other paths to the next handler', async () => {
    expect((await fetch(`${base}/v1/client/connect.mjs`, { headers: { 'if-none-match': `"${sha256}"` } })).status).toBe(304);
    expect((await fetch(`${base}/v1/other`)).status).toBe(418);
  });

  it('answers 404 naming the build command when the gateway has no bundle', async () => {
    const response = await fetch(`${base}/v1/client/connect.mjs`, { headers: { 'x-missing': '1' } });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain('npm run build:actions');
    expect(createClientBundleHandler(join(dir, 'missing.mjs')).info()).toBeUndefined();
  });
});

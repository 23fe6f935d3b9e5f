import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveClientBundle, type ToolCache } from '../../../actions/src/client-bundle.ts';
import { createGatewayApi } from '../../../actions/src/gateway-api.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function fakeCache(body: string | Error): ToolCache & { downloads: string[]; cached: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'tc-'));
  dirs.push(dir);
  const store = new Map<string, string>();
  const cache = {
    downloads: [] as string[],
    cached: [] as string[],
    find: (tool: string, version: string) => store.get(`${tool}@${version}`) ?? '',
    async downloadTool(url: string) {
      cache.downloads.push(url);
      if (body instanceof Error) throw body;
      const file = join(dir, `download-${cache.downloads.length}`);
      writeFileSync(file, body);
      return file;
    },
    async cacheFile(source: string, target: string, tool: string, version: string) {
      const into = join(dir, `${tool}-${version}`);
      rmSync(into, { recursive: true, force: true });
      mkdirSync(into);
      copyFileSync(source, join(into, target));
      store.set(`${tool}@${version}`, into);
      cache.cached.push(version);
      return into;
    },
  };
  return cache;
}

const api = createGatewayApi({ baseUrl: new URL('http://gw.test/') });
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const options = (
  toolCache: ToolCache,
  gateway: { version: string; client?: { url: string; sha256?: string } },
  warnings: string[],
) => ({
  api,
  gateway,
  actionVersion: '1.0.0',
  shippedBundle: '/action/dist/gatehouse-connect.mjs',
  toolCache,
  warn: (m: string) => warnings.push(m),
});

describe('choosing the client bundle', () => {
  it('downloads a verified client once per version and reports the version skew', async () => {
    const cache = fakeCache('client v2');
    const warnings: string[] = [];
    const gateway = { version: '2.0.0', client: { url: '/v1/client/connect.mjs', sha256: sha('client v2') } };
    const first = await resolveClientBundle(options(cache, gateway, warnings));
    const second = await resolveClientBundle(options(cache, gateway, warnings));
    expect([first.source, second.source]).toEqual(['gateway', 'cache']);
    expect(cache.downloads).toEqual(['http://gw.test/v1/client/connect.mjs']);
    expect(warnings[0]).toBe(
      "Version skew: the gateway runs 2.0.0 and this action is 1.0.0; using the gateway's client 2.0.0.",
    );
  });

  it("falls back to the action's own client when the download does not match the announced digest", async () => {
    const cache = fakeCache('tampered');
    const warnings: string[] = [];
    const chosen = await resolveClientBundle(
      options(
        cache,
        { version: '2.0.0', client: { url: '/v1/client/connect.mjs', sha256: sha('client v2') } },
        warnings,
      ),
    );
    expect(chosen).toEqual({ path: '/action/dist/gatehouse-connect.mjs', version: '1.0.0', source: 'shipped' });
    expect(cache.cached).toEqual([]);
    expect(warnings[0]).toMatch(
      /does not match the sha256 the gateway announced; using the action's own client 1\.0\.0\. Pin the action/,
    );
  });

  it('falls back when the gateway serves no client, and never downloads from another origin', async () => {
    const warnings: string[] = [];
    const missing = await resolveClientBundle(
      options(fakeCache(new Error('Unexpected HTTP response: 404')), { version: '1.0.0' }, warnings),
    );
    expect(missing.source).toBe('shipped');
    expect(warnings[0]).toMatch(/could not be downloaded .*404.*same version as the gateway/);
    const elsewhere = fakeCache('x');
    await resolveClientBundle(
      options(elsewhere, { version: '2.0.0', client: { url: 'https://cdn.example/connect.mjs' } }, warnings),
    );
    expect(elsewhere.downloads).toEqual([]);
    expect(warnings.at(-1)).toMatch(/another origin \(https:\/\/cdn\.example\)/);
  });
});

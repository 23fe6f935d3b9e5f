import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CONTROL_API_PATHS } from '../../wire/control-api.ts';
import type { GatewayApi, GatewayVersion } from './gateway-api.ts';

/** The part of `@actions/tool-cache` the action uses; injected so tests can run without a runner. */
export interface ToolCache {
  find(toolName: string, versionSpec: string): string;
  downloadTool(url: string, dest?: string): Promise<string>;
  cacheFile(sourceFile: string, targetFile: string, tool: string, version: string): Promise<string>;
}

/** Where the client to run came from, so the step can report version skew plainly. */
export interface ClientBundle {
  path: string;
  version: string;
  source: 'cache' | 'gateway' | 'shipped';
}

export interface ClientBundleOptions {
  api: GatewayApi;
  gateway: GatewayVersion;
  actionVersion: string;
  shippedBundle: string;
  toolCache: ToolCache;
  warn: (message: string) => void;
}

export const CLIENT_TOOL = {
  name: 'gatehouse-connect',
  file: 'gatehouse-connect.mjs',
  path: CONTROL_API_PATHS.clientBundle,
} as const;

const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

/**
 * Picks the client that speaks the gateway's protocol: the gateway's own bundle from the runner's
 * tool cache (downloaded once per version), else the bundle shipped in the action. Any doubt about
 * the download (other origin, checksum mismatch, non-semver version) falls back to the shipped
 * bundle, which is code the workflow already trusts.
 */
export async function resolveClientBundle(options: ClientBundleOptions): Promise<ClientBundle> {
  const { api, gateway, actionVersion, shippedBundle, toolCache, warn } = options;
  const shipped: ClientBundle = { path: shippedBundle, version: actionVersion, source: 'shipped' };
  const skew = gateway.version !== actionVersion;
  const fallback = (why: string): ClientBundle => {
    warn(
      skew
        ? `Version skew: the gateway runs ${gateway.version} but this action is ${actionVersion}, and ${why}; using the action's own client ${actionVersion}. Pin the action to the gateway's version (uses: <org>/gatehouse@v${gateway.version}) if connecting fails.`
        : `${why}; using the action's own client ${actionVersion} (same version as the gateway).`,
    );
    return shipped;
  };

  if (!SEMVER.test(gateway.version))
    return fallback(`the gateway version '${gateway.version}' is not a release version the tool cache can key on`);
  const announced = gateway.client?.url ?? CLIENT_TOOL.path;
  const target = /^[a-z][a-z0-9+.-]*:/i.test(announced) ? announced : api.url(announced);
  if (new URL(target).origin !== new URL(api.url('/')).origin)
    return fallback(
      `the gateway points its client at another origin (${new URL(target).origin}), which the action does not download from`,
    );

  const cachedDir = toolCache.find(CLIENT_TOOL.name, gateway.version);
  if (cachedDir) {
    const path = `${cachedDir}/${CLIENT_TOOL.file}`;
    if (!gateway.client?.sha256 || sha256File(path) === gateway.client.sha256) {
      reportSkew(skew, gateway.version, actionVersion, warn);
      return { path, version: gateway.version, source: 'cache' };
    }
  }

  let downloaded: string;
  try {
    downloaded = await toolCache.downloadTool(target);
  } catch (error) {
    return fallback(
      `its client could not be downloaded from ${target} (${error instanceof Error ? error.message.split('\n')[0] : 'unknown error'})`,
    );
  }
  if (gateway.client?.sha256 && sha256File(downloaded) !== gateway.client.sha256) {
    return fallback(`the client downloaded from ${target} does not match the sha256 the gateway announced`);
  }
  const dir = await toolCache.cacheFile(downloaded, CLIENT_TOOL.file, CLIENT_TOOL.name, gateway.version);
  reportSkew(skew, gateway.version, actionVersion, warn);
  return { path: `${dir}/${CLIENT_TOOL.file}`, version: gateway.version, source: 'gateway' };
}

function reportSkew(
  skew: boolean,
  gatewayVersion: string,
  actionVersion: string,
  warn: (message: string) => void,
): void {
  if (skew)
    warn(
      `Version skew: the gateway runs ${gatewayVersion} and this action is ${actionVersion}; using the gateway's client ${gatewayVersion}.`,
    );
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

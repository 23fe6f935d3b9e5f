import { join } from 'node:path';
import { GatehouseError } from '../../gateway/errors/gatehouse-error.ts';
import type { SessionGrant } from '../../wire/control-api.ts';
import { envInputReader, parseActionInputs, type ActionInputs } from './action-inputs.ts';
import { buildClientEnvironment, type ReadyLine } from './client-env.ts';
import { resolveClientBundle, type ToolCache } from './client-bundle.ts';
import { createGatewayApi, type GatewayApi } from './gateway-api.ts';
import { startDetachedProxy, stopProcess, waitForExit } from './proxy-process.ts';
import { sessionDir, writeSessionState } from './session-state.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { addSshInclude, writeSshConfig } from './ssh-config.ts';

/** The runner facilities the connect step uses (a subset of `@actions/core`), injected for tests. */
export interface RunnerCore {
  getIDToken(audience: string): Promise<string>;
  setSecret(secret: string): void;
  setOutput(name: string, value: string): void;
  exportVariable(name: string, value: string): void;
  saveState(name: string, value: string): void;
  info(message: string): void;
  warning(message: string): void;
}

export interface ConnectDeps {
  env: NodeJS.ProcessEnv;
  core: RunnerCore;
  toolCache: ToolCache;
  actionVersion: string;
  shippedBundle: string;
  nodePath: string;
  api?: GatewayApi;
  readyTimeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** What the step did, for the entry file and tests. */
export interface ConnectResult {
  sessionId: string;
  pid: number;
  ready: ReadyLine;
  env: Record<string, string>;
  outputs: Record<string, string>;
  stateFile: string;
}

/** The environment variable through which the client receives the session token (never argv). */
export const SESSION_TOKEN_ENV = 'GATEHOUSE_SESSION_TOKEN' as const;

/**
 * The connect step: OIDC token → session → local proxy → environment for later steps. Every
 * failure is a GatehouseError naming the fix; a session opened before a later failure is ended.
 */
export async function runConnect(deps: ConnectDeps): Promise<ConnectResult> {
  const { env, core } = deps;
  const inputs = parseActionInputs(envInputReader(env));
  const runnerTemp = env.RUNNER_TEMP;
  if (!runnerTemp)
    throw new GatehouseError(
      'runner-temp-missing',
      'RUNNER_TEMP is not set: run this action on a GitHub Actions runner (or set RUNNER_TEMP to a private folder).',
    );

  assertIdTokenPermission(env);
  const api = deps.api ?? createGatewayApi({ baseUrl: inputs.gateway });
  const gateway = await api.version();
  const bundle = await resolveClientBundle({
    api,
    gateway,
    actionVersion: deps.actionVersion,
    shippedBundle: deps.shippedBundle,
    toolCache: deps.toolCache,
    warn: (message) => core.warning(message),
  });

  const wanted = inputs.connections.map((c) => c.name);
  const grant = await openSession(
    api,
    core,
    inputs,
    wanted,
    deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
  );
  core.setSecret(grant.token);

  let pid: number | undefined;
  try {
    const connections = grantedConnections(inputs, grant);
    const dir = sessionDir(runnerTemp, `${Date.now()}-${grant.id}`);
    const launch = (bundlePath: string) =>
      startDetachedProxy({
        nodePath: deps.nodePath,
        bundlePath,
        args: [
          '--gateway',
          inputs.gateway.href.replace(/\/$/, ''),
          '--session-token-env',
          SESSION_TOKEN_ENV,
          '--session-id',
          grant.id,
          ...connections,
        ],
        env: { ...clientEnv(env), [SESSION_TOKEN_ENV]: grant.token },
        readyFile: join(dir, 'ready.json'),
        logFile: join(dir, 'connect.log'),
        pidFile: join(dir, 'connect.pid'),
        readyTimeoutMs: deps.readyTimeoutMs,
      });
    let client = bundle;
    let proxy;
    try {
      proxy = await launch(client.path);
    } catch (error) {
      if (!(error instanceof GatehouseError) || error.code !== 'proxy-start-failed' || client.source === 'shipped')
        throw error;
      core.warning(
        `The gateway's client ${client.version} did not start (${error.message.split('\n')[0]}); retrying with the action's own client ${deps.actionVersion}.`,
      );
      client = { path: deps.shippedBundle, version: deps.actionVersion, source: 'shipped' };
      proxy = await launch(client.path);
    }
    pid = proxy.pid;
    const exported = buildClientEnvironment(proxy.ready, grant.token);
    for (const secret of exported.secrets) core.setSecret(secret);
    if (proxy.ready.session_id !== grant.id) {
      throw new GatehouseError(
        'proxy-protocol',
        `The local proxy reports session ${proxy.ready.session_id}, not ${grant.id}: the client bundle does not match this action; pin matching versions.`,
      );
    }

    const files = writeClientFiles(dir, proxy.ready.connections);
    const stateFile = writeSessionState(dir, {
      sessionId: grant.id,
      gateway: inputs.gateway.href,
      token: grant.token,
      pid: proxy.pid,
      bundlePath: client.path,
      logFile: join(dir, 'connect.log'),
      expiresAt: grant.expires_at,
      connections: proxy.ready.connections.map((c) => c.name),
      ...files,
    });
    core.saveState('session-id', grant.id);
    core.saveState('state-file', stateFile);
    for (const [name, value] of Object.entries(exported.outputs)) core.setOutput(name, value);
    if (inputs.exportEnv) for (const [name, value] of Object.entries(exported.env)) core.exportVariable(name, value);
    core.exportVariable('GATEHOUSE_SESSION_ID', grant.id);
    core.exportVariable('GATEHOUSE_STATE_FILE', stateFile);
    exportClientFiles(core, inputs.exportEnv ? env.HOME : undefined, inputs.exportEnv, files);

    core.info(
      `Gatehouse session ${grant.id} is open until ${grant.expires_at} (client ${client.version}, ${client.source}).`,
    );
    for (const c of proxy.ready.connections) core.info(`  ${c.name} (${c.type}) listening on ${c.host}:${c.port}`);
    if (inputs.exportEnv && Object.keys(exported.env).length)
      core.info(`  exported for later steps: ${Object.keys(exported.env).join(', ')}`);
    return {
      sessionId: grant.id,
      pid: proxy.pid,
      ready: proxy.ready,
      env: exported.env,
      outputs: exported.outputs,
      stateFile,
    };
  } catch (error) {
    if (pid !== undefined && stopProcess(pid)) await waitForExit(pid, 3_000);
    await api.deleteSession(grant.id, grant.token).catch(() => undefined);
    throw error;
  }
}

function assertIdTokenPermission(env: NodeJS.ProcessEnv): void {
  if (!env.ACTIONS_ID_TOKEN_REQUEST_URL || !env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) {
    throw new GatehouseError(
      'id-token-permission',
      'This job cannot request a GitHub OIDC token. Fix: add `permissions: id-token: write` to the job (or the workflow). Workflows triggered by pull requests from forks never receive one; run them with a policy that does not need the gateway.',
    );
  }
}

/**
 * Exchanges a fresh OIDC token for a session. The POST is never repeated with the same token
 * (its `jti` is single-use); only when the gateway could not check any token yet (its issuer's
 * keys were unreachable, 503) is a new token requested and the exchange tried again.
 */
async function openSession(
  api: GatewayApi,
  core: RunnerCore,
  inputs: ActionInputs,
  wanted: string[],
  sleep: (ms: number) => Promise<void>,
): Promise<SessionGrant> {
  for (let attempt = 1; ; attempt += 1) {
    const token = await requestIdToken(core, inputs.audience);
    try {
      return await api.createSession({
        token,
        ...(wanted.length ? { connections: wanted } : {}),
        ...(inputs.ttl ? { ttl: inputs.ttl } : {}),
      });
    } catch (error) {
      if (!(error instanceof GatehouseError) || error.code !== 'issuer.unreachable' || attempt >= ISSUER_ATTEMPTS)
        throw error;
      await sleep(500 * attempt);
    }
  }
}

const ISSUER_ATTEMPTS = 3;

async function requestIdToken(core: RunnerCore, audience: string): Promise<string> {
  try {
    return await core.getIDToken(audience);
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/\s+/g, ' ').trim() : 'unknown error';
    throw new GatehouseError(
      'id-token-failed',
      `GitHub did not issue an OIDC token for audience '${audience}' (${reason}). Fix: check \`permissions: id-token: write\` and retry the job.`,
      { cause: error },
    );
  }
}

/** Connections to open, as `name[:port]`; fails closed when the gateway granted fewer than requested. */
function grantedConnections(inputs: ActionInputs, grant: SessionGrant): string[] {
  const granted = new Set(grant.connections.map((c) => c.name));
  if (inputs.connections.length === 0) {
    if (granted.size === 0)
      throw new GatehouseError(
        'connection-not-granted',
        "The session grants no connections: ask the gateway's admins to add connections to the identity rule that matched this job.",
      );
    return [...granted].sort();
  }
  const missing = inputs.connections.filter((c) => !granted.has(c.name)).map((c) => c.name);
  if (missing.length) {
    throw new GatehouseError(
      'connection-not-granted',
      `The session was not granted ${missing.map((m) => `'${m}'`).join(', ')} (granted: ${[...granted].join(', ') || 'none'}). Fix: remove it from the 'connections' input, or ask the gateway's admins to add it to the identity rule's 'connections'.`,
    );
  }
  return inputs.connections.map((c) => (c.port === undefined ? c.name : `${c.name}:${c.port}`));
}

/** The client needs PATH and proxies, not the runner's INPUT_* or OIDC request credentials. */
function clientEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const keep: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (
      name.startsWith('INPUT_') ||
      name.startsWith('ACTIONS_ID_TOKEN_') ||
      name.startsWith('GITHUB_') ||
      name === 'ACTIONS_RUNTIME_TOKEN'
    )
      continue;
    keep[name] = value;
  }
  return keep;
}

/** The client configuration files of a session: ssh_config for SSH connections, a kubeconfig for Kubernetes ones. */
interface ClientFiles {
  sshConfig?: string;
  kubeconfig?: string;
}

function writeClientFiles(dir: string, connections: ReadyLine['connections']): ClientFiles {
  const sshConfig = writeSshConfig(dir, connections);
  const kubeconfig = writeKubeconfig(dir, connections);
  return { ...(sshConfig ? { sshConfig } : {}), ...(kubeconfig ? { kubeconfig } : {}) };
}

/** Points later steps at the files: `Include` in ~/.ssh/config, `KUBECONFIG`, and the step's outputs. */
function exportClientFiles(core: RunnerCore, home: string | undefined, exportEnv: boolean, files: ClientFiles): void {
  if (files.kubeconfig) {
    core.setOutput('kubeconfig', files.kubeconfig);
    if (exportEnv) core.exportVariable('KUBECONFIG', files.kubeconfig);
  }
  if (files.sshConfig) {
    core.exportVariable('GATEHOUSE_SSH_CONFIG', files.sshConfig);
    if (home) addSshInclude(home, files.sshConfig);
  }
}

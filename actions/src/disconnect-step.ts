import { appendFileSync } from 'node:fs';
import { GatehouseError } from '../../gateway/errors/gatehouse-error.ts';
import { createGatewayApi, type GatewayApi } from './gateway-api.ts';
import { processAlive, stopProcess, waitForExit } from './local-proxy.ts';
import { renderSessionSummary, summaryRows, type SummaryRow } from './session-summary.ts';
import { forgetSessionState, readSessionStates } from './session-state.ts';
import { removeSshInclude } from './ssh-config.ts';

/** The runner facilities the disconnect step uses (a subset of `@actions/core`). */
export interface DisconnectCore {
  setSecret(secret: string): void;
  info(message: string): void;
  warning(message: string): void;
}

export interface DisconnectDeps {
  env: NodeJS.ProcessEnv;
  core: DisconnectCore;
  apiFor?: (gateway: URL) => GatewayApi;
}

/** The outcome per session, for the entry file and tests. */
export interface DisconnectOutcome {
  sessionId: string;
  ended: 'ended' | 'already-gone' | 'failed';
  proxy: 'stopped' | 'killed' | 'not-running';
  statements: number | undefined;
}

/**
 * Cleans up every session this job opened: fetches the masked log while the session still
 * answers, stops the local proxy by pid, ends the session, and appends a summary table to
 * `$GITHUB_STEP_SUMMARY`. Cleanup runs under `if: always()`, so problems are warnings and every
 * session is attempted; only "nothing could be ended" is an error.
 */
export async function runDisconnect(deps: DisconnectDeps): Promise<DisconnectOutcome[]> {
  const { env, core } = deps;
  const runnerTemp = env.RUNNER_TEMP;
  if (!runnerTemp)
    throw new GatehouseError(
      'runner-temp-missing',
      'RUNNER_TEMP is not set: run this action on a GitHub Actions runner, in the same job as the connect step.',
    );
  const sessions = readSessionStates(runnerTemp);
  if (sessions.length === 0) {
    core.info('No Gatehouse session to end in this job (the connect step did not run or failed before opening one).');
    return [];
  }
  const outcomes: DisconnectOutcome[] = [];
  for (const { dir, state } of sessions) {
    core.setSecret(state.token);
    const api = (deps.apiFor ?? ((gateway: URL) => createGatewayApi({ baseUrl: gateway, attempts: 3 })))(
      new URL(state.gateway),
    );

    let rows: SummaryRow[] | undefined;
    let note: string | undefined;
    try {
      rows = summaryRows(await api.sessionLog(state.sessionId, state.token));
    } catch (error) {
      note = `The session log could not be fetched: ${message(error)}`;
      core.warning(note);
    }

    let proxy: DisconnectOutcome['proxy'] = 'not-running';
    if (stopProcess(state.pid, state.bundlePath))
      proxy = (await waitForExit(state.pid, 5_000)) === 'killed' ? 'killed' : 'stopped';
    if (processAlive(state.pid, state.bundlePath))
      core.warning(`The local proxy (pid ${state.pid}) is still running; the runner ends it with the job.`);

    if (state.sshConfig && env.HOME) removeSshInclude(env.HOME, state.sshConfig);

    let ended: DisconnectOutcome['ended'];
    try {
      ended = await api.deleteSession(state.sessionId, state.token);
    } catch (error) {
      ended = 'failed';
      core.warning(
        `Session ${state.sessionId} could not be ended (${message(error)}); it expires at ${state.expiresAt}.`,
      );
    }

    if (env.GITHUB_STEP_SUMMARY)
      appendFileSync(env.GITHUB_STEP_SUMMARY, `${renderSessionSummary(state.sessionId, rows, note)}\n`);
    if (ended !== 'failed') forgetSessionState(dir);
    core.info(
      `Gatehouse session ${state.sessionId}: ${ended}; local proxy ${proxy}${rows ? `; ${rows.length} statements` : ''}.`,
    );
    outcomes.push({ sessionId: state.sessionId, ended, proxy, statements: rows?.length });
  }
  if (outcomes.every((o) => o.ended === 'failed')) {
    throw new GatehouseError(
      'disconnect-failed',
      'No Gatehouse session could be ended: check that the gateway is reachable; the sessions expire on their own at their TTL.',
    );
  }
  return outcomes;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

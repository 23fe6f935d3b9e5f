import { appendFileSync } from 'node:fs';
import { GatehouseError } from '../../gateway/errors/gatehouse-error.ts';
import { createGatewayApi, type GatewayApi } from './gateway-api.ts';
import { processAlive, stopProcess, waitForExit } from './proxy-process.ts';
import { renderFinalHash, renderSessionSummary, summaryRows, type SummaryRow } from './session-summary.ts';
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
  /** The session's final audit hash as the gateway gave it when the session ended (null if it did not). */
  finalHash: string | null;
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
    let finalHash: string | null = null;
    try {
      ({ status: ended, finalHash } = await api.deleteSession(state.sessionId, state.token));
    } catch (error) {
      ended = 'failed';
      core.warning(
        `Session ${state.sessionId} could not be ended (${message(error)}); it expires at ${state.expiresAt}.`,
      );
    }

    if (env.GITHUB_STEP_SUMMARY)
      appendSummary(env.GITHUB_STEP_SUMMARY, state.sessionId, { rows, note, ended, finalHash });
    if (ended !== 'failed') forgetSessionState(dir);
    core.info(
      `Gatehouse session ${state.sessionId}: ${ended}; local proxy ${proxy}${rows ? `; ${rows.length} statements` : ''}.`,
    );
    outcomes.push({ sessionId: state.sessionId, ended, proxy, statements: rows?.length, finalHash });
  }
  if (outcomes.every((o) => o.ended === 'failed')) {
    throw new GatehouseError(
      'disconnect-failed',
      'No Gatehouse session could be ended: check that the gateway is reachable; the sessions expire on their own at their TTL.',
    );
  }
  return outcomes;
}

/** The session's table and its final audit hash, appended to the job summary. */
function appendSummary(
  file: string,
  sessionId: string,
  parts: { rows: SummaryRow[] | undefined; note: string | undefined; ended: string; finalHash: string | null },
): void {
  const table = renderSessionSummary(sessionId, parts.rows, parts.note);
  appendFileSync(file, `${table}${renderFinalHash(sessionId, parts.ended, parts.finalHash)}\n`);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// Wall time of the Action's connect step as the runner runs it (`node actions/dist/connect.mjs`),
// with the gateway's client bundle already in the tool cache. Goal: <= 1.5 s.
// Run: node --import tsx bench/action-connect.ts [runs]
import { startFakeGateway } from '../test/actions/support/fake-gateway.ts';
import { startFakeOidcEndpoint } from '../test/actions/support/fake-github.ts';
import { createRunnerFiles } from '../test/actions/support/runner-files.ts';
import { runStep } from '../test/actions/support/run-step.ts';

/** One benchmark result, as the bench harness prints it. */
export interface BenchResult {
  name: string;
  unit: 'ms';
  runs: number;
  p50: number;
  max: number;
  cold: number;
  goal: number;
  pass: boolean;
  note: string;
}

export const GOAL_MS = 1500 as const;

/**
 * Times connect end to end (OIDC token request, version probe, tool-cache lookup, session
 * exchange, detached proxy start, ready line, env files) against a local control-API gateway
 * whose client starts instantly, so the number is the Action's own overhead.
 */
export async function benchActionConnect(runs = 7): Promise<BenchResult> {
  const oidc = await startFakeOidcEndpoint(() => 'header.payload.signature');
  const gateway = await startFakeGateway({ version: '0.9.0' });
  const runner = createRunnerFiles();
  const env = { ...runner.env, ...oidc.env, INPUT_GATEWAY: gateway.url, INPUT_CONNECTIONS: 'app-db' };
  const times: number[] = [];
  let cold = 0;
  try {
    for (let i = 0; i <= runs; i += 1) {
      const result = await runStep('connect.mjs', env);
      if (result.code !== 0) throw new Error(`connect failed:\n${result.stdout}\n${result.stderr}`);
      if (i === 0) cold = result.ms;
      else times.push(result.ms);
      const disconnect = await runStep('disconnect.mjs', runner.env);
      if (disconnect.code !== 0) throw new Error(`disconnect failed:\n${disconnect.stdout}`);
    }
  } finally {
    await oidc.close();
    await gateway.close();
    runner.cleanup();
  }
  times.sort((a, b) => a - b);
  const p50 = times[Math.floor(times.length / 2)]!;
  return {
    name: 'action.connect (client cached)',
    unit: 'ms',
    runs,
    p50,
    max: times.at(-1)!,
    cold,
    goal: GOAL_MS,
    pass: p50 <= GOAL_MS,
    note: `first run (downloads the client into the tool cache): ${cold} ms; fake control-API gateway, instant client`,
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''))) {
  const runs = Number(process.argv[2] ?? 7);
  const result = await benchActionConnect(Number.isInteger(runs) && runs > 0 ? runs : 7);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

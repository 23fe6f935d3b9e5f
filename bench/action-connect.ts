// Wall time of the Action's connect step as the runner runs it (`node actions/dist/connect.mjs`),
// with the gateway's client bundle already in the tool cache. Goal: <= 1.5 s.
// Run: node --import tsx bench/action-connect.ts [runs]
import { startFakeOidcEndpoint } from '../test/actions/support/fake-github.ts';
import { startActionTestbed } from '../test/actions/support/real-gateway.ts';
import { createRunnerFiles } from '../test/actions/support/runner-files.ts';
import type { BenchRow } from './bench-table.ts';
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
 * exchange, detached `gatehouse connect` start, ready line, env files) against the real gateway,
 * a local test issuer and the test PostgreSQL. Each run is followed by the disconnect step.
 */
export async function benchActionConnect(runs = 7): Promise<BenchResult> {
  const bed = await startActionTestbed();
  const oidc = await startFakeOidcEndpoint((audience) => bed.issuer.mint({}, { aud: audience }));
  const runner = createRunnerFiles();
  const env = {
    ...runner.env,
    ...oidc.env,
    INPUT_GATEWAY: bed.gateway.httpUrl,
    INPUT_AUDIENCE: bed.audience,
    INPUT_CONNECTIONS: 'app-db',
  };
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
    await bed.close();
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
    note: `first run (downloads the client into the tool cache): ${cold} ms; real gateway, test issuer, real PostgreSQL on loopback`,
  };
}

/** The connect step as a row of `npm run bench`'s table. */
export async function benchActionConnectRows(runs = 7): Promise<BenchRow[]> {
  const result = await benchActionConnect(runs);
  return [
    {
      benchmark: `${result.name}, p50 of ${result.runs} (first run ${result.cold} ms)`,
      gateway: `${result.p50} ms`,
      ratio: result.pass ? 'meets goal' : 'over goal',
      goal: `<= ${result.goal} ms`,
    },
  ];
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''))) {
  const runs = Number(process.argv[2] ?? 7);
  const result = await benchActionConnect(Number.isInteger(runs) && runs > 0 ? runs : 7);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

import { run } from '../../gateway/client/connect-command.ts';
import { GatehouseError } from '../../gateway/errors/gatehouse-error.ts';

// The `gatehouse connect` client as one self-contained file: what the action runs on the runner
// and what the gateway serves at /v1/client/connect.mjs for any CI that can mint an OIDC token.
try {
  process.exitCode = await run(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof GatehouseError)) throw error;
  process.stderr.write(`gatehouse connect: ${error.message}\n`);
  process.exitCode = 1;
}

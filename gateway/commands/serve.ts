import { loadConfig } from '../config/load-config.ts';
import { startGateway } from '../server/gateway.ts';
import { parseCommandArgs } from './command-args.ts';

const USAGE = 'usage: gatehouse serve [--config gatehouse.yaml]';

/** `gatehouse serve --config gatehouse.yaml`: runs the gateway until SIGINT/SIGTERM. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    { args: argv, options: { config: { type: 'string', short: 'c', default: 'gatehouse.yaml' } } },
    USAGE,
  );
  const config = loadConfig(values.config!);
  const gateway = await startGateway(config);
  process.stdout.write(
    `gatehouse: http ${gateway.httpUrl}, postgres 127.0.0.1:${gateway.postgresPort} (config ${config.file})\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await gateway.close();
  return 0;
}

import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load-config.ts';
import { startGateway } from '../server/gateway.ts';

/** `gatehouse serve --config gatehouse.yaml`: runs the gateway until SIGINT/SIGTERM. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c', default: 'gatehouse.yaml' } } });
  const config = loadConfig(values.config!);
  const gateway = await startGateway(config);
  process.stdout.write(`gatehouse: http ${gateway.httpUrl}, postgres 127.0.0.1:${gateway.postgresPort} (config ${config.file})\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await gateway.close();
  return 0;
}

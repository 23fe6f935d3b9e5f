import { loadConfig } from '../config/load-config.ts';
import { DEV_ISSUER_CONFIG_NAME } from '../identity/dev-issuer.ts';
import { startGateway } from '../server/gateway.ts';
import { parseCommandArgs } from './command-args.ts';

const USAGE = 'usage: gatehouse serve [--config gatehouse.yaml]';

/** `gatehouse serve --config gatehouse.yaml`: runs the gateway until SIGINT/SIGTERM. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    {
      args: argv,
      options: {
        config: { type: 'string', short: 'c', default: 'gatehouse.yaml' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    },
    USAGE,
  );
  if (values.help) return (process.stdout.write(`${USAGE}\n`), 0);
  const config = loadConfig(values.config!);
  if (config.issuers.some((issuer) => issuer.issuer === DEV_ISSUER_CONFIG_NAME))
    process.stderr.write(
      `gatehouse: warning: the dev issuer is on (issuers: - issuer: dev in ${config.file}): anyone who can run 'gatehouse dev-token' on this host gets sessions; remove it outside local trials\n`,
    );
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

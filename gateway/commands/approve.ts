import { GatehouseError } from '../errors/gatehouse-error.ts';
import { parseCommandArgs } from './command-args.ts';
import { run as approvals } from './approvals.ts';

const USAGE =
  'usage: gatehouse approve <approval-id> [--deny] [--reason TEXT] [--config gatehouse.yaml] [--gateway URL]';

/**
 * `gatehouse approve <id>`: the short form of `gatehouse approvals approve|deny <id>`, kept for the
 * demo and for the muscle memory of the PR comment command.
 */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    {
      args: argv,
      allowPositionals: true,
      options: {
        deny: { type: 'boolean', default: false },
        reason: { type: 'string' },
        config: { type: 'string', default: 'gatehouse.yaml' },
        gateway: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    },
    USAGE,
  );
  if (values.help) return (process.stdout.write(`${USAGE}\n`), 0);
  if (positionals.length !== 1) throw new GatehouseError('cli.usage', `give exactly one approval id\n${USAGE}`);
  return approvals([
    values.deny ? 'deny' : 'approve',
    positionals[0]!,
    '--config',
    values.config!,
    ...(values.reason ? ['--reason', values.reason] : []),
    ...(values.gateway ? ['--gateway', values.gateway] : []),
  ]);
}

import { userInfo } from 'node:os';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { loadConfig } from '../config/load-config.ts';
import { createStore } from '../store/create-store.ts';
import { createApprovalBroker } from '../approvals/broker.ts';
import { createHttpNotifier, silentNotifier } from '../approvals/notifier.ts';
import { randomApprovalId } from '../approvals/approval-record.ts';
import { systemClock } from '../identity/session-context.ts';
import { parseCommandArgs } from './command-args.ts';

const USAGE = 'usage: gatehouse approve <approval-id> [--deny] [--reason TEXT] [--config gatehouse.yaml]';

/**
 * `gatehouse approve <id>`: answers a held statement from the gateway host itself, through the
 * store, so the replica holding the client wakes up. For the demo, `--interactive` sessions and
 * break-glass use; the decision is recorded as made by `cli:<local user>`.
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
        help: { type: 'boolean', default: false },
      },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new GatehouseError('cli.usage', `give exactly one approval id\n${USAGE}`);
  const id = positionals[0]!;
  const config = loadConfig(values.config!);
  const store = await createStore(config.store);
  const notifier =
    config.approvals.notifyUrl && config.approvals.secret
      ? createHttpNotifier({
          url: config.approvals.notifyUrl,
          secret: config.approvals.secret,
          clock: systemClock,
          attempts: 3,
        })
      : silentNotifier;
  const broker = createApprovalBroker({
    store,
    clock: systemClock,
    notifier,
    publicUrl: config.publicUrl,
    ids: { approvalId: randomApprovalId },
    onError: (error) => process.stderr.write(`gatehouse approve: ${(error as Error).message}\n`),
  });
  try {
    const result = await broker.decide(id, {
      approved: !values.deny,
      by: [`cli:${userInfo().username}`],
      ...(values.reason ? { reason: values.reason } : {}),
    });
    if (!result.ok) throw new GatehouseError(`approvals.${result.code}`, result.message);
    process.stdout.write(`approval ${id}: ${result.status}\n`);
    return 0;
  } finally {
    broker.close();
    await store.close();
  }
}

import { userInfo } from 'node:os';
import { loadConfig } from '../config/load-config.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { openApprovalsBackend, type ApprovalsBackend } from '../operator/approvals-backend.ts';
import type { ApprovalView } from '../../wire/approvals.ts';
import { parseCommandArgs } from './command-args.ts';

const USAGE = [
  'usage: gatehouse approvals list [--json]',
  '       gatehouse approvals show <id>',
  '       gatehouse approvals approve <id> [--reason TEXT]',
  '       gatehouse approvals deny <id> [--reason TEXT]',
  'options: --config gatehouse.yaml (default), --gateway URL (default: the gateway this config runs)',
].join('\n');

const ACTIONS = ['list', 'show', 'approve', 'deny'] as const;

/**
 * `gatehouse approvals`: what is held and its answer, without the GitHub App. Talks to the
 * running gateway's operator API (so it works beside a gateway whose embedded store is locked),
 * and to the store only when no gateway runs. Decisions are recorded as made by `cli:<local user>`.
 */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    {
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', default: 'gatehouse.yaml' },
        gateway: { type: 'string' },
        reason: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    },
    USAGE,
  );
  const [action, id, ...extra] = positionals;
  if (values.help) return (process.stdout.write(`${USAGE}\n`), 0);
  if (!ACTIONS.includes(action as (typeof ACTIONS)[number]) || extra.length > 0)
    throw new GatehouseError('cli.usage', `say what to do: ${ACTIONS.join(', ')}\n${USAGE}`);
  if (action !== 'list' && !id) throw new GatehouseError('cli.usage', `give the approval id\n${USAGE}`);
  const backend = await openApprovalsBackend(loadConfig(values.config!), values.gateway);
  try {
    return await perform(backend, action as (typeof ACTIONS)[number], id ?? '', values);
  } finally {
    await backend.close();
  }
}

async function perform(
  backend: ApprovalsBackend,
  action: (typeof ACTIONS)[number],
  id: string,
  options: { reason?: string; json?: boolean },
): Promise<number> {
  if (action === 'list') {
    const held = await backend.list();
    process.stdout.write(options.json ? `${JSON.stringify(held)}\n` : formatList(held, new Date()));
    return 0;
  }
  if (action === 'show') {
    const view = await backend.show(id);
    process.stdout.write(options.json ? `${JSON.stringify(view)}\n` : formatOne(view));
    return 0;
  }
  const status = await backend.decide(id, {
    approved: action === 'approve',
    by: `cli:${userInfo().username}`,
    ...(options.reason ? { reason: options.reason } : {}),
  });
  process.stdout.write(`approval ${id}: ${status}\n`);
  return 0;
}

/** One line per held statement: what a reviewer needs to decide, newest deadline last. */
export function formatList(held: ApprovalView[], now: Date): string {
  if (held.length === 0) return 'nothing is held for approval\n';
  const rows = held.map((view) => [
    view.id,
    view.binding ? `${view.binding.repository} run ${view.binding.runId}` : view.sessionId,
    view.connection,
    ago(new Date(view.requestedAt), now),
    `in ${ago(now, new Date(view.expiresAt))}`,
    oneLine(view.statement, 60),
  ]);
  const header = ['ID', 'JOB', 'CONNECTION', 'AGE', 'DEADLINE', 'STATEMENT'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

/** Every field of one approval, the masked statement whole. */
export function formatOne(view: ApprovalView): string {
  const binding = view.binding;
  const lines = [
    `approval   ${view.id} (${view.status})`,
    `session    ${view.sessionId}`,
    ...(binding
      ? [
          `job        ${binding.repository} ${binding.workflow} run ${binding.runId} attempt ${binding.runAttempt}`,
          `commit     ${binding.sha} (${binding.ref}) by ${binding.actor}`,
        ]
      : []),
    `connection ${view.connection}`,
    `rule       ${view.rule}`,
    `requested  ${view.requestedAt}`,
    `deadline   ${view.expiresAt}`,
    ...(view.decidedAt ? [`decided    ${view.decidedAt} by ${view.decidedBy.join(', ')}`] : []),
    ...(view.reason ? [`reason     ${view.reason}`] : []),
    'statement',
    ...view.statement.split('\n').map((text) => `  ${text}`),
  ];
  return `${lines.join('\n')}\n`;
}

function ago(from: Date, to: Date): string {
  const seconds = Math.max(0, Math.round((to.getTime() - from.getTime()) / 1000));
  return seconds < 120
    ? `${seconds}s`
    : seconds < 7200
      ? `${Math.round(seconds / 60)}m`
      : `${Math.round(seconds / 3600)}h`;
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

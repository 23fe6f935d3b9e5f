import type { ServerChannel } from 'ssh2';
import type { CommandEvent } from '../enforcement/enforcer.ts';
import type { Refused, Verdict } from '../enforcement/verdict.ts';
import type { Action } from '../policy/actions-and-decisions.ts';
import { type ConnectionContext, GATEWAY_EXIT_STATUS } from './connection-context.ts';

/** The real start of a session channel (exec, shell, subsystem) as the core is asked about it. */
export interface ChannelStart {
  action: Action;
  /** The command as the approval binds to it (raw) and as reviewers and the audit log see it (masked). */
  text: string;
  shown: string;
  /** The channel's start event, without the decision fields the core adds; built when it is written (after a hold). */
  event(): CommandEvent;
  /** A terminal was requested: lines end in `\r\n`. */
  terminal: boolean;
}

/**
 * Asks the enforcement core whether a channel may start. While a command is held the client waits
 * with its channel open and reads on stderr why and where to approve; closing the channel cancels
 * the request. A refusal is written on stderr with exit status {@link GATEWAY_EXIT_STATUS.denied},
 * because OpenSSH shows nothing useful for a failed exec request.
 */
export async function admitChannel(
  ctx: ConnectionContext,
  channel: ServerChannel,
  start: ChannelStart,
): Promise<Verdict> {
  const lineEnd = start.terminal ? '\r\n' : '\n';
  const say = (message: string) => {
    if (channel.writable) channel.stderr.write(`gatehouse: ${message}${lineEnd}`);
  };
  const abort = new AbortController();
  const onClose = () => abort.abort();
  channel.once('close', onClose);
  try {
    const verdict = await ctx.enforce(start.action, {
      text: start.text,
      shown: () => start.shown,
      event: start.event,
      hold: {
        signal: abort.signal,
        held: (decision) => say(`held for approval by policy rule "${decision.rule}": ${decision.reason}`),
        pending: (approval) =>
          say(
            `approval ${approval.id}: ${approval.howToApprove} (denied if nobody approves before ${approval.expiresAt.toISOString()})`,
          ),
        approved: () => say('approved; running'),
      },
    });
    if (!verdict.allowed) refuse(channel, denialLine(verdict, lineEnd), GATEWAY_EXIT_STATUS.denied);
    return verdict;
  } finally {
    channel.removeListener('close', onClose);
  }
}

/** The line a refused client sees on stderr. */
export function denialLine(verdict: Refused, lineEnd: string): string {
  return `gatehouse: denied by policy rule "${verdict.decision.rule}": ${verdict.decision.reason}${lineEnd}`;
}

/** Ends a client channel the gateway did not run anything on: message on stderr, exit status. */
export function refuse(channel: ServerChannel, message: string, status: number): void {
  if (!channel.writable) return;
  channel.stderr.write(message);
  channel.exit(status);
  channel.end();
}

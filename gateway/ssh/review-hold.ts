import type { ServerChannel } from 'ssh2';
import type { Decision } from '../policy/types.ts';
import { ADAPTER_RULES, type ConnectionContext } from './connection-context.ts';

/** A `review` decision after the broker answered: allow or deny, with who/why for the audit. */
export interface ReviewResult {
  decision: Decision;
  approvalId?: string;
}

/**
 * Holds a command under `review` until the approvals broker answers. The client waits with its
 * channel open and sees on stderr why and (through the broker's `notify`) where to approve;
 * closing the channel cancels the request. No broker, or a broker failure, is a denial.
 */
export async function holdForReview(
  ctx: ConnectionContext,
  decision: Decision,
  command: string,
  channel: ServerChannel,
  lineEnd: string,
): Promise<ReviewResult> {
  const hold = ctx.deps.hold;
  if (!hold) {
    return {
      decision: {
        action: 'deny',
        rule: ADAPTER_RULES.noBroker,
        reason: `rule "${decision.rule}" requires approval but this gateway has no approvals broker configured`,
      },
    };
  }
  const write = (message: string) => {
    if (channel.writable) channel.stderr.write(`gatehouse: ${message}${lineEnd}`);
  };
  write(`held for approval by policy rule "${decision.rule}": ${decision.reason}`);
  const abort = new AbortController();
  const onClose = () => abort.abort();
  channel.once('close', onClose);
  try {
    const outcome = await hold({
      session: ctx.session,
      connection: ctx.config.name,
      command,
      decision,
      signal: abort.signal,
      notify: write,
    });
    if (outcome.approved) {
      write('approved; running');
      return {
        decision: { ...decision, action: 'allow', reason: outcome.reason || decision.reason },
        approvalId: outcome.approvalId,
      };
    }
    return {
      decision: { ...decision, action: 'deny', reason: outcome.reason || 'not approved' },
      approvalId: outcome.approvalId,
    };
  } catch (error) {
    ctx.log(`approvals broker failed: ${(error as Error).message}`);
    return { decision: { ...decision, action: 'deny', reason: 'the approvals broker failed; denied (fail closed)' } };
  } finally {
    channel.removeListener('close', onClose);
  }
}

import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { ClientChannel, ServerChannel } from 'ssh2';
import type { Decision } from '../policy/types.ts';
import { type RelayResult, relayChannel } from './channel-relay.ts';
import { splitCommandWords } from './command-words.ts';
import { type ConnectionContext, decisionFields, denialMessage, GATEWAY_EXIT_STATUS } from './connection-context.ts';
import { holdForReview } from './review-hold.ts';
import type { SessionRequests } from './session-channel.ts';
import { SSH_AUDIT_EVENTS } from './ssh-audit-events.ts';

/**
 * Runs one `ssh host 'command'`: asks policy (holding it for review if needed), records the
 * decision before anything reaches the target, runs the command upstream and records its exit
 * status, duration and masked output. Refusals are shown on stderr with exit status
 * {@link GATEWAY_EXIT_STATUS.denied}, because OpenSSH shows nothing useful for a failed exec request.
 */
export async function runExec(
  ctx: ConnectionContext,
  requests: SessionRequests,
  channel: ServerChannel,
  command: string,
): Promise<void> {
  const argv = splitCommandWords(command);
  const maskedCommand = ctx.mask(command);
  let decision = await ctx.decide({
    type: 'ssh.exec',
    connection: ctx.config.name,
    identity: ctx.session.identity,
    command,
    argv,
  });
  const lineEnd = requests.pty ? '\r\n' : '\n';
  const id = randomUUID();
  let approvalId: string | undefined;
  if (decision.action === 'review') {
    ({ decision, approvalId } = await holdForReview(ctx, decision, maskedCommand, channel, lineEnd));
  }
  const allowed = await ctx.record(SSH_AUDIT_EVENTS.exec, {
    channel: id,
    command: maskedCommand,
    argv: argv?.map((word) => ctx.mask(word)) ?? null,
    pty: Boolean(requests.pty),
    env: requests.envRecord.allowed,
    env_denied: requests.envRecord.denied,
    ...decisionFields(decision),
    ...(approvalId ? { approval_id: approvalId } : {}),
  });
  if (!allowed) decision = auditUnavailable(decision);
  if (decision.action !== 'allow')
    return refuse(channel, denialMessage(decision, Boolean(requests.pty)), GATEWAY_EXIT_STATUS.denied);

  const started = ctx.now();
  let upstream: ClientChannel;
  try {
    const client = await ctx.upstream();
    upstream = await new Promise<ClientChannel>((resolve, fail) => {
      client.exec(command, { env: requests.env, ...(requests.pty ? { pty: requests.pty } : {}) }, (error, stream) =>
        error ? fail(error) : resolve(stream),
      );
    });
  } catch (error) {
    return upstreamFailed(ctx, channel, id, started, error as Error, lineEnd);
  }
  requests.upstream = upstream;
  let recorded = false;
  const recordEnd = async (result: RelayResult) => {
    if (recorded) return;
    recorded = true;
    await recordExecEnd(ctx, id, started, result);
  };
  const result = await relayChannel(channel, upstream, {
    maskText: ctx.maskText,
    captureBytes: ctx.recording.execOutputBytes,
    beforeExit: recordEnd,
  });
  await recordEnd(result);
}

async function recordExecEnd(ctx: ConnectionContext, id: string, started: number, result: RelayResult): Promise<void> {
  for (const stream of ['stdout', 'stderr'] as const) {
    const bytes = stream === 'stdout' ? result.stdoutBytes : result.stderrBytes;
    if (bytes === 0) continue;
    const captured = result[stream];
    const utf8 = isUtf8(captured);
    await ctx.record(SSH_AUDIT_EVENTS.output, {
      channel: id,
      stream,
      data: captured.toString(utf8 ? 'utf8' : 'base64'),
      encoding: utf8 ? 'utf8' : 'base64',
      bytes,
      truncated: bytes > captured.length,
    });
  }
  await ctx.record(SSH_AUDIT_EVENTS.exit, {
    channel: id,
    code: result.exitStatus,
    signal: result.exitSignal,
    duration_ms: ctx.now() - started,
    masked_values: result.masked,
    client_closed: result.clientClosed,
  });
}

/** Tells the client and the audit log that the target could not be used for a channel. */
export async function upstreamFailed(
  ctx: ConnectionContext,
  channel: ServerChannel,
  id: string,
  started: number,
  error: Error,
  lineEnd: string,
): Promise<void> {
  refuse(channel, `gatehouse: ${error.message}${lineEnd}`, GATEWAY_EXIT_STATUS.gatewayError);
  await ctx.record(SSH_AUDIT_EVENTS.exit, {
    channel: id,
    code: GATEWAY_EXIT_STATUS.gatewayError,
    duration_ms: ctx.now() - started,
    error: error.message,
  });
}

/** A decision turned into a denial because the audit log could not record it (audit: required). */
export function auditUnavailable(decision: Decision): Decision {
  return {
    ...decision,
    action: 'deny',
    reason: 'the audit log is unavailable and this connection requires it; try again later',
  };
}

/** Ends a client channel the gateway did not run anything on: message on stderr, exit status. */
export function refuse(channel: ServerChannel, message: string, status: number): void {
  if (!channel.writable) return;
  channel.stderr.write(message);
  channel.exit(status);
  channel.end();
}

import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { ClientChannel, ServerChannel } from 'ssh2';
import { admitChannel, refuse } from './channel-admission.ts';
import { type RelayResult, relayChannel } from './channel-relay.ts';
import { splitCommandWords } from './command-words.ts';
import { type ConnectionContext, GATEWAY_EXIT_STATUS } from './connection-context.ts';
import type { SessionRequests } from './session-channel.ts';
import { SSH_AUDIT_EVENTS } from './ssh-audit-events.ts';

/**
 * Runs one `ssh host 'command'`: the core decides (holding it for review if needed) and records the
 * decision before anything reaches the target; then the command runs upstream and its exit
 * status, duration and masked output are recorded.
 */
export async function runExec(
  ctx: ConnectionContext,
  requests: SessionRequests,
  channel: ServerChannel,
  command: string,
): Promise<void> {
  const argv = splitCommandWords(command);
  const maskedCommand = ctx.mask(command);
  const lineEnd = requests.pty ? '\r\n' : '\n';
  const id = randomUUID();
  const verdict = await admitChannel(ctx, channel, {
    action: { type: 'ssh.exec', connection: ctx.config.name, identity: ctx.session.identity, command, argv },
    text: command,
    shown: maskedCommand,
    terminal: Boolean(requests.pty),
    event: () => ({
      type: SSH_AUDIT_EVENTS.exec,
      data: {
        connection: ctx.config.name,
        channel: id,
        command: maskedCommand,
        argv: argv?.map((word) => ctx.mask(word)) ?? null,
        pty: Boolean(requests.pty),
        env: requests.envRecord.allowed,
        env_denied: requests.envRecord.denied,
      },
    }),
  });
  if (!verdict.allowed) return;

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

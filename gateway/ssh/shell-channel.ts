import { randomUUID } from 'node:crypto';
import type { ClientChannel, ServerChannel } from 'ssh2';
import { AsciicastRecorder } from './asciicast-recorder.ts';
import { admitChannel } from './channel-admission.ts';
import { type RelayResult, relayChannel } from './channel-relay.ts';
import type { ConnectionContext } from './connection-context.ts';
import { upstreamFailed } from './exec-channel.ts';
import type { SessionRequests } from './session-channel.ts';
import { type AsciicastHeader, SSH_AUDIT_EVENTS } from './ssh-audit-events.ts';

const DEFAULT_TERMINAL = { cols: 80, rows: 24, term: 'xterm' } as const;

/**
 * Runs an interactive shell: policy decides (`ssh.shell`), then the masked terminal output is
 * both shown to the client and recorded as asciicast v2 in batches (`ssh.shell.output` events
 * after an `ssh.shell` event carrying the header), so `gatehouse audit replay` can play it back.
 */
export async function runShell(
  ctx: ConnectionContext,
  requests: SessionRequests,
  channel: ServerChannel,
): Promise<void> {
  const terminal = Boolean(requests.pty);
  const lineEnd = terminal ? '\r\n' : '\n';
  const id = randomUUID();
  let started = ctx.now();
  const verdict = await admitChannel(ctx, channel, {
    action: { type: 'ssh.shell', connection: ctx.config.name, identity: ctx.session.identity },
    text: 'interactive shell',
    shown: 'interactive shell',
    terminal,
    event: () => {
      started = ctx.now();
      const header: AsciicastHeader = {
        version: 2,
        width: requests.pty?.cols || DEFAULT_TERMINAL.cols,
        height: requests.pty?.rows || DEFAULT_TERMINAL.rows,
        timestamp: Math.floor(started / 1000),
        title: `${ctx.config.name} (${ctx.config.user}@${ctx.config.host})`,
        env: { TERM: requests.pty?.term || DEFAULT_TERMINAL.term },
      };
      const data = { connection: ctx.config.name, channel: id, pty: terminal, cast: header };
      return {
        type: SSH_AUDIT_EVENTS.shell,
        data: { ...data, env: requests.envRecord.allowed, env_denied: requests.envRecord.denied },
      };
    },
  });
  if (!verdict.allowed) return;

  let upstream: ClientChannel;
  try {
    const client = await ctx.upstream();
    upstream = await new Promise<ClientChannel>((resolve, fail) => {
      client.shell(requests.pty ?? false, { env: requests.env }, (error, stream) =>
        error ? fail(error) : resolve(stream),
      );
    });
  } catch (error) {
    return upstreamFailed(ctx, channel, id, started, error as Error, lineEnd);
  }
  requests.upstream = upstream;
  const recorder = new AsciicastRecorder(
    started,
    () => ctx.now(),
    async (cast) => {
      const data = cast
        .filter((event) => event[1] === 'o')
        .map((event) => event[2])
        .join('');
      if (
        !(await ctx.record(SSH_AUDIT_EVENTS.output, { channel: id, stream: 'stdout', data, encoding: 'utf8', cast }))
      ) {
        channel.stderr.write(
          `gatehouse: the audit log is unavailable and this connection requires it; closing${lineEnd}`,
        );
        channel.close();
      }
    },
  );
  requests.onResize = (cols, rows) => recorder.resize(cols, rows);
  let ended = false;
  const recordEnd = async (result: RelayResult) => {
    if (ended) return;
    ended = true;
    await recorder.close();
    await ctx.record(SSH_AUDIT_EVENTS.exit, {
      channel: id,
      code: result.exitStatus,
      signal: result.exitSignal,
      duration_ms: ctx.now() - started,
      bytes: result.stdoutBytes + result.stderrBytes,
      masked_values: result.masked,
      client_closed: result.clientClosed,
    });
  };
  const result = await relayChannel(channel, upstream, {
    maskText: ctx.maskText,
    captureBytes: 0,
    onOutput: (bytes) => recorder.output(bytes),
    ...(ctx.recording.shellInput ? { onInput: (bytes: Buffer) => recorder.input(bytes) } : {}),
    beforeExit: recordEnd,
  });
  await recordEnd(result);
}

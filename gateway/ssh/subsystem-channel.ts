import { randomUUID } from 'node:crypto';
import type { ClientChannel, ServerChannel } from 'ssh2';
import { admitChannel } from './channel-admission.ts';
import type { ConnectionContext } from './connection-context.ts';
import { upstreamFailed } from './exec-channel.ts';
import type { SessionRequests } from './session-channel.ts';
import { SSH_AUDIT_EVENTS } from './ssh-audit-events.ts';

/**
 * Runs a subsystem such as `sftp` when policy allows it. Its traffic is a binary protocol the
 * content detectors cannot rewrite without breaking it, so it is relayed unchanged and only
 * byte counts are recorded; policies that care about data leaving should deny `sftp`.
 */
export async function runSubsystem(
  ctx: ConnectionContext,
  requests: SessionRequests,
  channel: ServerChannel,
  name: string,
): Promise<void> {
  const id = randomUUID();
  const verdict = await admitChannel(ctx, channel, {
    action: { type: 'ssh.subsystem', connection: ctx.config.name, identity: ctx.session.identity, name },
    text: `subsystem ${name}`,
    shown: `subsystem ${name}`,
    terminal: false,
    event: () => ({ type: SSH_AUDIT_EVENTS.subsystem, data: { connection: ctx.config.name, channel: id, name } }),
  });
  if (!verdict.allowed) return;

  const started = ctx.now();
  let upstream: ClientChannel;
  try {
    const client = await ctx.upstream();
    upstream = await new Promise<ClientChannel>((resolve, fail) => {
      client.subsys(name, (error, stream) => (error ? fail(error) : resolve(stream)));
    });
  } catch (error) {
    return upstreamFailed(ctx, channel, id, started, error as Error, '\n');
  }
  requests.upstream = upstream;
  const counts = { up: 0, down: 0 };
  channel.on('data', (bytes: Buffer) => (counts.up += bytes.length));
  upstream.on('data', (bytes: Buffer) => (counts.down += bytes.length));
  channel.pipe(upstream);
  upstream.pipe(channel);
  upstream.stderr.pipe(channel.stderr);
  await new Promise<void>((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      upstream.close();
      channel.close();
      resolve();
    };
    channel.once('close', finish);
    upstream.once('close', finish);
  });
  await ctx.record(SSH_AUDIT_EVENTS.exit, {
    channel: id,
    code: null,
    duration_ms: ctx.now() - started,
    bytes_to_target: counts.up,
    bytes_from_target: counts.down,
  });
}

import type { AcceptConnection, ClientChannel, Connection, RejectConnection, ServerChannel } from 'ssh2';
import type { Decision } from '../policy/types.ts';
import { type ConnectionContext, decisionFields } from './connection-context.ts';
import { recordRefusedForward } from './session-channel.ts';
import { SSH_AUDIT_EVENTS } from './ssh-audit-events.ts';

/**
 * Port forwarding requests of one client connection. Local forwarding (`ssh -L`, `ssh -W`,
 * Unix sockets) is relayed through the target only when a rule allows it (`ssh.forward`,
 * kind `local`; the engine denies it by default). Remote forwarding (`ssh -R`) is always refused.
 * A refused channel reaches the client as "administratively prohibited".
 */
export function handleForwarding(ctx: ConnectionContext, client: Connection): void {
  const connection = ctx.config.name;
  const identity = ctx.session.identity;

  client.on('tcpip', (accept, reject, info) => {
    void (async () => {
      const decision = await ctx.decide({
        type: 'ssh.forward',
        connection,
        identity,
        kind: 'local',
        host: info.destIP,
        port: info.destPort,
      });
      const allowed = await recordForward(ctx, decision, { host: info.destIP, port: info.destPort });
      if (!allowed) return reject();
      await relayForward(ctx, accept, reject, (upstream, done) =>
        upstream.forwardOut(info.srcIP, info.srcPort, info.destIP, info.destPort, done),
      );
    })();
  });

  client.on('openssh.streamlocal', (accept, reject, info) => {
    void (async () => {
      const decision = await ctx.decide({
        type: 'ssh.forward',
        connection,
        identity,
        kind: 'local',
        host: info.socketPath,
      });
      const allowed = await recordForward(ctx, decision, { socket_path: info.socketPath });
      if (!allowed) return reject();
      await relayForward(ctx, accept, reject, (upstream, done) =>
        upstream.openssh_forwardOutStreamLocal(info.socketPath, done),
      );
    })();
  });

  client.on('request', (_accept: unknown, reject: (() => void) | undefined, name: string, info: unknown) => {
    if (name !== 'tcpip-forward' && name !== 'streamlocal-forward@openssh.com') return reject?.();
    void (async () => {
      const bind = info as { bindAddr?: string; bindPort?: number; socketPath?: string };
      const decision = await ctx.decide({
        type: 'ssh.forward',
        connection,
        identity,
        kind: 'remote',
        host: bind.bindAddr ?? bind.socketPath,
        port: bind.bindPort,
      });
      await recordRefusedForward(ctx, 'remote', decision);
      reject?.();
    })();
  });
}

async function recordForward(
  ctx: ConnectionContext,
  decision: Decision,
  target: Record<string, unknown>,
): Promise<boolean> {
  const recorded = await ctx.record(SSH_AUDIT_EVENTS.forward, {
    kind: 'local',
    ...target,
    ...decisionFields(decision),
  });
  return recorded && decision.action === 'allow';
}

type OpenUpstream = (
  upstream: import('ssh2').Client,
  done: (error: Error | undefined, channel: ClientChannel) => void,
) => void;

async function relayForward(
  ctx: ConnectionContext,
  accept: AcceptConnection<ServerChannel>,
  reject: RejectConnection,
  open: OpenUpstream,
): Promise<void> {
  let upstream: ClientChannel;
  try {
    const client = await ctx.upstream();
    upstream = await new Promise<ClientChannel>((resolve, fail) =>
      open(client, (error, channel) => (error ? fail(error) : resolve(channel))),
    );
  } catch (error) {
    ctx.log(`forwarding failed: ${(error as Error).message}`);
    return reject();
  }
  const channel = accept();
  if (!channel) return void upstream.close();
  channel.pipe(upstream).pipe(channel);
  channel.once('close', () => upstream.close());
  upstream.once('close', () => channel.close());
}

import type { AcceptConnection, Client, ClientChannel, Connection, RejectConnection, ServerChannel } from 'ssh2';
import type { Action } from '../policy/actions-and-decisions.ts';
import type { ConnectionContext } from './connection-context.ts';
import { refuseForward } from './session-channel.ts';
import { SSH_AUDIT_EVENTS } from './ssh-audit-events.ts';

type ForwardAction = Extract<Action, { type: 'ssh.forward' }>;

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
    const action: ForwardAction = {
      type: 'ssh.forward',
      connection,
      identity,
      kind: 'local',
      host: info.destIP,
      port: info.destPort,
    };
    void forward(ctx, action, { host: info.destIP, port: info.destPort }, accept, reject, (upstream, done) =>
      upstream.forwardOut(info.srcIP, info.srcPort, info.destIP, info.destPort, done),
    );
  });

  client.on('openssh.streamlocal', (accept, reject, info) => {
    const action: ForwardAction = { type: 'ssh.forward', connection, identity, kind: 'local', host: info.socketPath };
    void forward(ctx, action, { socket_path: info.socketPath }, accept, reject, (upstream, done) =>
      upstream.openssh_forwardOutStreamLocal(info.socketPath, done),
    );
  });

  client.on('request', (_accept: unknown, reject: (() => void) | undefined, name: string, info: unknown) => {
    if (name !== 'tcpip-forward' && name !== 'streamlocal-forward@openssh.com') return reject?.();
    const bind = info as { bindAddr?: string; bindPort?: number; socketPath?: string };
    const action: ForwardAction = {
      type: 'ssh.forward',
      connection,
      identity,
      kind: 'remote',
      host: bind.bindAddr ?? bind.socketPath,
      port: bind.bindPort,
    };
    void refuseForward(ctx, action).then(() => reject?.());
  });
}

type OpenUpstream = (upstream: Client, done: (error: Error | undefined, channel: ClientChannel) => void) => void;

/** A local forward: the core decides and records it; only an allowed one is opened through the target. */
async function forward(
  ctx: ConnectionContext,
  action: ForwardAction,
  target: Record<string, unknown>,
  accept: AcceptConnection<ServerChannel>,
  reject: RejectConnection,
  open: OpenUpstream,
): Promise<void> {
  const text = `local forwarding to ${String(action.host)}${action.port === undefined ? '' : `:${action.port}`}`;
  const verdict = await ctx.enforce(action, {
    text,
    shown: () => text,
    event: () => ({
      type: SSH_AUDIT_EVENTS.forward,
      data: { connection: ctx.config.name, kind: 'local', ...target },
    }),
  });
  if (!verdict.allowed) return reject();
  await relayForward(ctx, accept, reject, open);
}

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

import type { ClientChannel, PseudoTtyInfo, ServerChannel, Session } from 'ssh2';
import type { Action } from '../policy/actions-and-decisions.ts';
import type { ConnectionContext } from './connection-context.ts';
import { runExec } from './exec-channel.ts';
import { runShell } from './shell-channel.ts';
import { runSubsystem } from './subsystem-channel.ts';
import { SSH_AUDIT_EVENTS } from './ssh-audit-events.ts';

/**
 * What the client asked for on one session channel before its real start (exec, shell or
 * subsystem): environment variables policy allowed, and the terminal, passed to the target.
 */
export interface SessionRequests {
  env: Record<string, string>;
  /** For the audit event of the real start: allowed variables (values masked) and refused names. */
  envRecord: { allowed: Record<string, string>; denied: string[] };
  pty?: PseudoTtyInfo;
  /** Set once the upstream channel exists, so window changes and signals reach it. */
  upstream?: ClientChannel;
  onResize?(cols: number, rows: number): void;
}

/** Asks policy about one env request; an allowed variable is kept for the real start (and recorded masked). */
async function admitEnv(
  ctx: ConnectionContext,
  requests: SessionRequests,
  name: string,
  value: string,
): Promise<boolean> {
  const action = { type: 'ssh.env', connection: ctx.config.name, identity: ctx.session.identity, name, value } as const;
  const verdict = await ctx.enforce(action, { text: `env ${name}`, shown: () => `env ${name}` });
  if (verdict.allowed) {
    requests.env[name] = value;
    requests.envRecord.allowed[name] = ctx.mask(value);
  } else {
    requests.envRecord.denied.push(name);
  }
  return verdict.allowed;
}

/**
 * Handles the requests of one SSH session channel in the order they arrived (each may wait on
 * the policy engine), asking policy about env, agent and X11 forwarding, and handing the real
 * start to the exec, shell or subsystem handler. The real start is accepted at once (ssh2 can
 * no longer answer it once the client sent EOF), so a refusal is an exit status plus stderr.
 */
export function handleSession(ctx: ConnectionContext, session: Session): void {
  const requests: SessionRequests = { env: {}, envRecord: { allowed: {}, denied: [] } };
  let queue: Promise<void> = Promise.resolve();
  const inOrder = (work: () => Promise<void>) => {
    queue = queue.then(work).catch((error: Error) => ctx.log(`session request failed: ${error.message}`));
  };
  const identity = ctx.session.identity;
  const connection = ctx.config.name;

  session.on('env', (accept, reject, info) =>
    inOrder(async () => ((await admitEnv(ctx, requests, info.key, info.val)) ? accept?.() : reject?.())),
  );

  session.on('pty', (accept, _reject, info) =>
    inOrder(async () => {
      requests.pty = info;
      accept?.();
    }),
  );

  session.on('window-change', (accept, _reject, info) => {
    if (requests.pty)
      Object.assign(requests.pty, { cols: info.cols, rows: info.rows, width: info.width, height: info.height });
    requests.upstream?.setWindow(info.rows, info.cols, info.height, info.width);
    requests.onResize?.(info.cols, info.rows);
    accept?.();
  });

  session.on('signal', (accept, reject, info) => {
    if (!requests.upstream) return reject?.();
    requests.upstream.signal(info.name);
    accept?.();
  });

  for (const kind of ['agent', 'x11'] as const) {
    session.on(kind === 'agent' ? 'auth-agent' : kind, (_accept: unknown, reject?: () => void) =>
      inOrder(async () => {
        await refuseForward(ctx, { type: 'ssh.forward', connection, identity, kind });
        reject?.();
      }),
    );
  }

  session.on('exec', (accept, _reject, info) =>
    started(accept(), (channel) => runExec(ctx, requests, channel, info.command)),
  );
  session.on('shell', (accept) => started(accept(), (channel) => runShell(ctx, requests, channel)));
  session.on('subsystem', (accept, _reject, info) =>
    started(accept(), (channel) => runSubsystem(ctx, requests, channel, info.name)),
  );

  function started(channel: ServerChannel | undefined, run: (channel: ServerChannel) => Promise<void>): void {
    if (channel) inOrder(() => run(channel));
  }
}

/**
 * Records a forwarding request the gateway refuses whatever policy says (agent, X11, remote):
 * relaying them would expose the runner's agent, display or ports to the target, which defeats
 * keeping keys off the runner. A rule that allows them is recorded as overridden.
 */
export async function refuseForward(
  ctx: ConnectionContext,
  action: Extract<Action, { type: 'ssh.forward' }>,
  target: Record<string, unknown> = {},
): Promise<void> {
  const text = `${action.kind} forwarding`;
  await ctx.enforce(action, {
    text,
    shown: () => text,
    unsupported: `${action.kind} forwarding is not supported by the gateway`,
    event: () => ({
      type: SSH_AUDIT_EVENTS.forward,
      data: { connection: ctx.config.name, kind: action.kind, ...target },
    }),
  });
}

import net, { type AddressInfo } from 'node:net';
import type { HoldOptions, HoldRequest, HoldResult } from '../../../gateway/approvals/broker.ts';
import type { SshConnectionConfig } from '../../../gateway/config/config-types.ts';
import { createEnforcer } from '../../../gateway/enforcement/enforcer.ts';
import { createLiveSessions } from '../../../gateway/enforcement/live-sessions.ts';
import { systemClock, type SessionContext } from '../../../gateway/identity/session-context.ts';
import type { Action, Decision } from '../../../gateway/policy/actions-and-decisions.ts';
import { knownHostsLine, sshHostKeyFromPrivate } from '../../../gateway/ssh/host-key.ts';
import type { SshAdapterDeps } from '../../../gateway/ssh/ports.ts';
import { createSshAdapter, type SshAdapter } from '../../../gateway/ssh/ssh-adapter.ts';
import type { SshTestTarget } from '../../support/sshd.ts';
import { generateEd25519KeyPair } from '../../../gateway/ssh/ssh-key-text.ts';

export const TOKEN = 'gwh_test-session-token-0123456789' as const;
export const CONNECTION = 'deploy-host' as const;
export const SECRET = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789' as const;
export const MASKED = '[MASKED:github_token]' as const;

/** One recorded audit event, as the fake recorder keeps it. */
export interface Recorded {
  sessionId: string;
  type: string;
  data: Record<string, unknown>;
}

/**
 * A small policy standing in for the engine: `rm` is denied, `touch` needs review, commands the
 * splitter gives up on are denied, forwarding is denied, `GATEHOUSE_*` env is allowed.
 */
export function testPolicy(action: Action): Decision {
  switch (action.type) {
    case 'ssh.exec':
      if (action.argv === null)
        return { action: 'deny', rule: 'unparsed', reason: 'the command could not be split into words' };
      if (action.argv[0] === 'rm')
        return { action: 'deny', rule: 'no-rm', reason: 'deleting files is not allowed from CI' };
      if (action.argv[0] === 'touch')
        return { action: 'review', rule: 'touch-needs-review', reason: 'touching files needs a reviewer' };
      return { action: 'allow', rule: 'allow-exec', reason: 'allowed' };
    case 'ssh.shell':
      return { action: 'allow', rule: 'allow-shell', reason: 'allowed' };
    case 'ssh.env':
      return action.name.startsWith('GATEHOUSE_')
        ? { action: 'allow', rule: 'env', reason: 'allowed' }
        : { action: 'deny', rule: 'env', reason: 'only GATEHOUSE_* variables' };
    default:
      return { action: 'deny', rule: 'default-deny', reason: `${action.type} is not allowed` };
  }
}

export interface Harness {
  gateway: SshAdapter;
  port: number;
  knownHosts: string;
  events: Recorded[];
  session: SessionContext;
  /** Replace to control held commands: the approvals broker's `hold`. */
  hold: (request: HoldRequest, options?: HoldOptions) => Promise<HoldResult>;
  /** Public keys registered with the session (tunnel auth). */
  sshKeys: string[];
  close(): Promise<void>;
}

/** The parts a test replaces around the real adapter and the real enforcement core. */
export interface HarnessOverrides {
  /** The policy engine (default {@link testPolicy}). */
  decide?: (action: Action) => Decision;
  /** The audit recorder's `record` (default: kept in `events`). */
  record?: (sessionId: string, type: string, data: Record<string, unknown>) => Promise<void>;
  maskText?: SshAdapterDeps['maskText'];
  /** Told each decision the core counts. */
  counted?: (decision: string) => void;
}

export function sshConnection(
  target: SshTestTarget,
  overrides: Partial<SshConnectionConfig> = {},
): SshConnectionConfig {
  return {
    type: 'ssh',
    name: CONNECTION,
    host: target.host,
    port: target.port,
    user: target.user,
    privateKey: target.privateKey,
    hostKey: target.hostKey,
    audit: 'required',
    ...overrides,
  };
}

function fakeMaskText(text: string): { text: string; count: number } {
  let count = 0;
  const masked = text.replace(/ghp_[A-Za-z0-9]{36}/g, () => {
    count++;
    return MASKED;
  });
  return { text: masked, count };
}

/** Starts the SSH adapter on a free local port: fakes for the engine, recorder and broker around the real core. */
export async function startGateway(
  connections: SshConnectionConfig[],
  overrides: HarnessOverrides = {},
): Promise<Harness> {
  const hostKey = sshHostKeyFromPrivate(generateEd25519KeyPair().private);
  const session: SessionContext = {
    sessionId: 'sess-ssh-1',
    identity: { sessionId: 'sess-ssh-1', claims: { repository: 'acme/app' }, identityRule: 'main-deploys' },
    connections: connections.map((c) => c.name),
    expiresAt: new Date(Date.now() + 3600_000),
  };
  const events: Recorded[] = [];
  const harness = {} as Harness;
  harness.hold = async () => ({
    outcome: 'denied',
    approvalId: null,
    decidedBy: [],
    reason: 'no reviewer in this test',
  });
  harness.sshKeys = [];
  const record =
    overrides.record ??
    (async (sessionId: string, type: string, data: Record<string, unknown>) =>
      void events.push({ sessionId, type, data }));
  const enforcer = createEnforcer({
    engine: { decide: overrides.decide ?? testPolicy },
    broker: { hold: (request, options) => harness.hold(request, options) },
    recorder: { record: (sessionId, type, data) => record(sessionId, type, data as Record<string, unknown>) },
    metrics: { statements: { inc: ({ decision }) => overrides.counted?.(decision) } },
    log: () => undefined,
  });
  const deps: SshAdapterDeps = {
    enforcer,
    authenticate: (token) => (token === TOKEN ? session : null),
    maskText: overrides.maskText ?? fakeMaskText,
    sessionSshKeys: (sessionId) => (sessionId === session.sessionId ? harness.sshKeys : []),
    live: createLiveSessions(systemClock),
    clock: systemClock,
    log: () => undefined,
  };
  const gateway = createSshAdapter({ hostKey, connections, deps });
  const server = net.createServer((socket) => gateway.accept(socket, { loopback: true }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(harness, {
    gateway,
    port,
    events,
    session,
    knownHosts: knownHostsLine(hostKey, '127.0.0.1', port),
    close: async () => {
      await gateway.close();
      deps.live.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

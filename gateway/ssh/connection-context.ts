import type { Client } from 'ssh2';
import type { SshConnectionConfig } from '../config/config-types.ts';
import type { SessionContext } from '../identity/session-context.ts';
import type { Action, Decision } from '../policy/types.ts';
import type { HostKeyPin } from './host-key-pin.ts';
import type { SshGatewayDeps, SshRecordingOptions } from './ports.ts';
import type { SshAuditEventData, SshAuditEventType } from './ssh-audit-events.ts';
import { connectUpstream } from './upstream.ts';

/** Exit statuses the gateway itself gives an exec or shell it did not run. */
export const GATEWAY_EXIT_STATUS = {
  /** Refused by policy, by a reviewer, or because the audit log is unavailable. */
  denied: 1,
  /** The gateway could not reach or trust the target (same as ssh's own connection errors). */
  gatewayError: 255,
} as const;

/** The rule name on decisions the adapter makes itself when the engine cannot answer. */
export const ADAPTER_RULES = { engineError: 'gateway-error', noBroker: 'no-approvals-broker' } as const;

/**
 * State of one authenticated client SSH connection that every channel handler shares: who it
 * is, which target, the single upstream connection (opened on first use so denied work never
 * touches the target), and the policy/audit calls with the adapter's fail-closed rules applied.
 */
export class ConnectionContext {
  private upstreamClient: Promise<Client> | undefined;
  private closed = false;

  constructor(
    readonly deps: SshGatewayDeps,
    readonly config: SshConnectionConfig,
    readonly pin: HostKeyPin,
    readonly session: SessionContext,
    readonly recording: SshRecordingOptions,
  ) {}

  now(): number {
    return (this.deps.now?.() ?? new Date()).getTime();
  }

  log(message: string): void {
    this.deps.log?.(`ssh ${this.config.name} session ${this.session.sessionId}: ${message}`);
  }

  /** The engine's decision; an engine failure is a denial. */
  async decide(action: Action): Promise<Decision> {
    let decision: Decision;
    try {
      decision = await this.deps.decide(action);
    } catch (error) {
      this.log(`policy engine failed: ${(error as Error).message}`);
      decision = {
        action: 'deny',
        rule: ADAPTER_RULES.engineError,
        reason: 'the policy engine could not decide; denied (fail closed)',
      };
    }
    this.deps.onDecision?.(action, decision);
    return decision;
  }

  /** Records an event; false when it failed and this connection's audit mode is `required`. */
  async record<T extends SshAuditEventType>(type: T, data: SshAuditEventData[T]): Promise<boolean> {
    try {
      await this.deps.record(this.session.sessionId, type, { connection: this.config.name, ...data });
      return true;
    } catch (error) {
      this.log(`audit write of ${type} failed: ${(error as Error).message}`);
      return this.config.audit !== 'required';
    }
  }

  /** The content detectors of this connection. */
  readonly maskText = (text: string): { text: string; count: number } => this.deps.maskText(text, this.config.name);

  mask(text: string): string {
    return this.maskText(text).text;
  }

  /** The upstream connection, opened once; rejects with a GatehouseError a client can be shown. */
  upstream(): Promise<Client> {
    if (this.closed) return Promise.reject(new Error('connection closed'));
    if (!this.upstreamClient) {
      const connecting = connectUpstream(this.config, this.pin);
      this.upstreamClient = connecting;
      connecting.then(
        (client) => {
          if (this.closed) client.end();
          client.on('error', (error) => this.log(`upstream error: ${error.message}`));
          client.once('close', () => {
            if (this.upstreamClient === connecting) this.upstreamClient = undefined;
          });
        },
        () => {
          this.upstreamClient = undefined;
        },
      );
    }
    return this.upstreamClient;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.upstreamClient?.then(
      (client) => client.end(),
      () => undefined,
    );
  }
}

/** Decision fields as they go into audit events. */
export function decisionFields(decision: Decision): { decision: string; rule: string; reason: string } {
  return { decision: decision.action, rule: decision.rule, reason: decision.reason };
}

/** The line a refused client sees on stderr (`\r\n` under a terminal, `\n` otherwise). */
export function denialMessage(decision: Decision, terminal: boolean): string {
  return `gatehouse: denied by policy rule "${decision.rule}": ${decision.reason}${terminal ? '\r\n' : '\n'}`;
}

import type { Client } from 'ssh2';
import type { SshConnectionConfig } from '../config/config-types.ts';
import type { EnforceCall, EnforcementContext } from '../enforcement/enforcer.ts';
import type { Verdict } from '../enforcement/verdict.ts';
import type { SessionContext } from '../identity/session-context.ts';
import type { Action } from '../policy/actions-and-decisions.ts';
import type { AuditEventData } from '../../wire/audit-events.ts';
import type { HostKeyPin } from './host-key-pin.ts';
import type { SshAdapterDeps, SshRecordingOptions } from './ports.ts';
import type { SshAuditEventType } from './ssh-audit-events.ts';
import { connectUpstream } from './upstream.ts';

/** Exit statuses the gateway itself gives an exec or shell it did not run. */
export const GATEWAY_EXIT_STATUS = {
  /** Refused by policy, by a reviewer, or because the audit log is unavailable. */
  denied: 1,
  /** The gateway could not reach or trust the target (same as ssh's own connection errors). */
  gatewayError: 255,
} as const;

/**
 * State of one authenticated client SSH connection that every channel handler shares: who it
 * is, which target, the single upstream connection (opened on first use so denied work never
 * touches the target), and its enforcement context for the core.
 */
export class ConnectionContext {
  private upstreamClient: Promise<Client> | undefined;
  private closed = false;
  readonly enforcement: EnforcementContext;

  constructor(
    readonly deps: SshAdapterDeps,
    readonly config: SshConnectionConfig,
    readonly pin: HostKeyPin,
    readonly session: SessionContext,
    readonly recording: SshRecordingOptions,
  ) {
    this.enforcement = { session, connection: config, protocol: 'ssh' };
  }

  now(): number {
    return this.deps.clock.now().getTime();
  }

  log(message: string): void {
    this.deps.log(`ssh ${this.config.name} session ${this.session.sessionId}: ${message}`);
  }

  /** Asks the enforcement core about an action of this connection. */
  enforce(action: Action, call: EnforceCall): Promise<Verdict> {
    return Promise.resolve(this.deps.enforcer.enforce(this.enforcement, action, call));
  }

  /** Records a detail event; false when it failed and this connection's audit mode requires it. */
  record<T extends SshAuditEventType>(type: T, data: AuditEventData[T]): Promise<boolean> {
    return this.deps.enforcer.record(this.enforcement, type, { connection: this.config.name, ...data });
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

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApprovalBroker } from '../approvals/broker.ts';
import type { Recorder } from '../audit/recorder.ts';
import type { GatehouseConfig } from '../config/config-types.ts';
import type { Clock } from '../identity/session-context.ts';
import type { SessionService } from '../identity/session-service.ts';
import type { ContentMasker } from '../masking/detectors.ts';
import type { PolicyEngine } from '../policy/engine.ts';
import { loadSshHostKey } from '../ssh/host-key.ts';
import { createSshKeyRoute } from '../ssh/ssh-key-route.ts';
import { createSshGateway, type SshGateway } from '../ssh/ssh-gateway.ts';
import { createSshDeps } from '../ssh/ssh-wiring.ts';
import type { Store } from '../store/store.ts';
import type { GatewayMetrics } from './metrics.ts';

/** The gateway's shared parts the SSH side is built from, passed in by `startGateway`, the only place they meet. */
export interface SshSideParts {
  config: GatehouseConfig;
  store: Store;
  engine: PolicyEngine;
  sessions: SessionService;
  recorder: Recorder;
  broker: ApprovalBroker;
  clock: Clock;
  metrics: GatewayMetrics;
  /** Each connection's content masker (see `content-maskers.ts`), for command output and texts. */
  contentMaskerFor: (connection: string) => ContentMasker;
  log: (message: string) => void;
}

/** The SSH adapter and the HTTP route `gatehouse connect` uses to register its tunnel key. */
export interface SshSide {
  gateway: SshGateway;
  keyRoute: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
}

/**
 * Builds the SSH side of the gateway from the shared parts: the stable host key from the store,
 * the policy engine, sessions, recorder, approvals and each connection's content detectors.
 */
export async function createSshSide(parts: SshSideParts): Promise<SshSide> {
  const hostKey = await loadSshHostKey(parts.store);
  const gateway = createSshGateway({
    hostKey,
    connections: parts.config.connections,
    deps: createSshDeps({
      engine: parts.engine,
      sessions: parts.sessions,
      store: parts.store,
      recorder: parts.recorder,
      broker: parts.broker,
      clock: parts.clock,
      log: parts.log,
      maskTextFor: (connection) => {
        const content = parts.contentMaskerFor(connection);
        return (text) => content.maskText(text);
      },
      counted: (decision) => parts.metrics.statements.inc({ protocol: 'ssh', decision }),
    }),
  });
  return { gateway, keyRoute: createSshKeyRoute({ sessions: parts.sessions, store: parts.store, hostKey }) };
}

import type { AdapterDeps, AdapterFactory, ProtocolAdapter } from '../enforcement/adapter-contract.ts';
import { loadSshHostKey } from './host-key.ts';
import type { SshAdapterDeps } from './ports.ts';
import { createSshAdapter } from './ssh-adapter.ts';
import { sshConnectionType } from './ssh-connection.ts';
import { createSshKeyRoute } from './ssh-key-route.ts';

/**
 * The SSH adapter built from the shared parts: its stable host key (kept in the store so every
 * replica and restart presents the same one), the key registration route `gatehouse connect` uses,
 * and each connection's content detectors over commands and output.
 */
export const sshAdapterFactory: AdapterFactory = {
  type: sshConnectionType.type,
  configSchema: sshConnectionType.schema,
  create: buildSshAdapter,
};

async function buildSshAdapter(deps: AdapterDeps): Promise<ProtocolAdapter> {
  const hostKey = await loadSshHostKey(deps.store);
  const sshDeps: SshAdapterDeps = {
    enforcer: deps.enforcer,
    authenticate: (token) => deps.sessions.authenticate(token),
    sessionSshKeys: async (sessionId) => (await deps.store.getSession(sessionId))?.sshKeys ?? [],
    maskText: (text, connection) => deps.contentMasker(connection).maskText(text),
    live: deps.sessions.live,
    clock: deps.clock,
    log: deps.log,
  };
  const adapter = createSshAdapter({
    hostKey,
    connections: deps.config.connections,
    deps: sshDeps,
    listenAddress: deps.config.listen.ssh,
  });
  return {
    ...adapter,
    route: createSshKeyRoute({ sessions: deps.sessions, store: deps.store, hostKey }),
  };
}

import ssh2, { type Client, type ConnectConfig } from 'ssh2';
import type { SshConnectionConfig } from '../config/config-types.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import type { HostKeyPin } from './host-key-pin.ts';
import { sshFingerprint } from './ssh-key-text.ts';

/** A target that does not finish the handshake, or stops answering keepalives, is given up on. */
export const UPSTREAM_TIMEOUTS = { readyMs: 15_000, keepaliveMs: 15_000 } as const;

/**
 * Opens the gateway's own SSH connection to a target with the credentials from gatehouse.yaml,
 * refusing any host key but the pinned one. Errors are GatehouseErrors whose message can be shown
 * to the CI job as is: they name the connection and what to check, never a credential.
 */
export function connectUpstream(config: SshConnectionConfig, pin: HostKeyPin): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let presented: string | undefined;
    let settled = false;
    const settle = (error: GatehouseError | null) => {
      if (settled) return;
      settled = true;
      if (error) {
        client.end();
        reject(error);
      } else {
        resolve(client);
      }
    };
    const options: ConnectConfig = {
      host: config.host,
      port: config.port,
      username: config.user,
      readyTimeout: UPSTREAM_TIMEOUTS.readyMs,
      keepaliveInterval: UPSTREAM_TIMEOUTS.keepaliveMs,
      hostVerifier: (key: Buffer) => {
        if (pin.matches(key)) return true;
        presented = sshFingerprint(key);
        return false;
      },
      ...(pin.algorithms ? { algorithms: { serverHostKey: pin.algorithms as never } } : {}),
      ...(config.privateKey ? { privateKey: config.privateKey } : {}),
      ...(config.password ? { password: config.password } : {}),
    };
    client.once('ready', () => settle(null));
    client.on('error', (error: Error & { level?: string }) => settle(describeFailure(config, error, presented)));
    client.once('close', () =>
      settle(
        new GatehouseError(
          'ssh.upstream-closed',
          `${config.name}: the target ${config.host}:${config.port} closed the connection during the handshake; check that it runs an SSH server`,
        ),
      ),
    );
    try {
      client.connect(options);
    } catch (error) {
      settle(
        new GatehouseError(
          'ssh.upstream-config',
          `${config.name}: cannot use the configured credentials (${(error as Error).message}); check connections.${config.name}.private_key in gatehouse.yaml`,
          { cause: error },
        ),
      );
    }
  });
}

function describeFailure(
  config: SshConnectionConfig,
  error: Error & { level?: string },
  presented: string | undefined,
): GatehouseError {
  const where = `${config.host}:${config.port}`;
  if (presented) {
    return new GatehouseError(
      'ssh.upstream-host-key-mismatch',
      `${config.name}: the target ${where} presented host key ${presented}, which does not match connections.${config.name}.host_key; refusing to connect. If the host was re-keyed on purpose, update host_key in gatehouse.yaml`,
      { cause: error },
    );
  }
  if (error.level === 'client-authentication') {
    return new GatehouseError(
      'ssh.upstream-auth-failed',
      `${config.name}: the target ${where} refused the gateway's credentials for user '${config.user}'; check connections.${config.name}.user and private_key/password`,
      { cause: error },
    );
  }
  if (error.level === 'client-timeout') {
    return new GatehouseError(
      'ssh.upstream-timeout',
      `${config.name}: the target ${where} did not complete the SSH handshake in time; check that it is up and reachable from the gateway`,
      { cause: error },
    );
  }
  return new GatehouseError(
    'ssh.upstream-unreachable',
    `${config.name}: cannot reach the target ${where} (${(error as NodeJS.ErrnoException).code ?? error.message}); check that it is up and reachable from the gateway`,
    { cause: error },
  );
}

import ssh2, { type AuthContext } from 'ssh2';

const { utils } = ssh2;
import type { SshConnectionConfig } from '../config/config-types.ts';
import type { SessionContext } from '../identity/session-context.ts';
import type { HostKeyPin } from './host-key-pin.ts';
import { sessionGrants } from '../identity/session-grants.ts';
import type { SshAdapterDeps } from './ports.ts';
import { parsePublicKeyLine } from './ssh-key-text.ts';

/** A client that proved a live session allowed to use the connection it named as its user. */
export interface AuthOutcome {
  config: SshConnectionConfig;
  pin: HostKeyPin;
  session: SessionContext;
}

export interface AuthEnvironment {
  deps: SshAdapterDeps;
  targets: ReadonlyMap<string, { config: SshConnectionConfig; pin: HostKeyPin }>;
  /** The session a tunnel stream was opened with; such clients must use its registered keys. */
  tunnel?: SessionContext;
  /** The connection the tunnel was opened for; the SSH user must name the same one. */
  tunnelConnection?: string;
}

/**
 * Checks one SSH authentication attempt: the user names the connection, a password is a session
 * token (native listener only), a public key must be registered with the session (the tunnel's
 * own session, or the one `authenticateKey` finds). Answers the attempt itself except on
 * success, which it returns so the caller can set up the connection before accepting.
 */
export async function authenticateClient(auth: AuthContext, env: AuthEnvironment): Promise<AuthOutcome | null> {
  const methods = env.tunnel ? ['publickey'] : env.deps.authenticateKey ? ['password', 'publickey'] : ['password'];
  const refuse = () => {
    auth.reject(methods as never);
    return null;
  };
  const target = env.targets.get(auth.username);
  if (!target || (env.tunnelConnection !== undefined && env.tunnelConnection !== auth.username)) return refuse();
  let session: SessionContext | null = null;
  if (auth.method === 'password' && !env.tunnel) {
    session = await env.deps.authenticate(auth.password);
  } else if (auth.method === 'publickey') {
    const offered = `${keyType(auth.key.data)} ${auth.key.data.toString('base64')}`;
    const candidate = env.tunnel ?? (env.deps.authenticateKey ? await env.deps.authenticateKey(offered) : null);
    if (!candidate) return refuse();
    const registered = env.tunnel ? ((await env.deps.sessionSshKeys?.(candidate.sessionId)) ?? []) : [offered];
    const match = registered.map(parsePublicKeyLine).find((key) => key?.blob.equals(auth.key.data));
    if (!match) return refuse();
    if (!auth.signature || !auth.blob) {
      auth.accept();
      return null;
    }
    const verifier = utils.parseKey(match.line);
    if (verifier instanceof Error || !verifier.verify(auth.blob, auth.signature, auth.hashAlgo as never))
      return refuse();
    session = candidate;
  }
  if (!session || !sessionGrants(session, target.config.name, env.deps.clock.now())) return refuse();
  if (env.tunnel && session.sessionId !== env.tunnel.sessionId) return refuse();
  return { config: target.config, pin: target.pin, session };
}

/** The key type named inside an SSH public key blob (its first string). */
function keyType(blob: Buffer): string {
  if (blob.length < 4) return '';
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + Math.min(length, 64)).toString('latin1');
}

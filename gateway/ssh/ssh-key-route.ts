import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SshKeyRegistration } from '../../wire/control-api.ts';
import { bearerToken } from '../http/bearer-token.ts';
import { readJsonBody, sendError, sendJson } from '../http/json-io.ts';
import type { SessionContext } from '../identity/session-context.ts';
import type { Store } from '../store/store.ts';
import type { SshHostKey } from './host-key.ts';
import { parsePublicKeyLine, sshFingerprint, type PublicKeyText } from './ssh-key-text.ts';

const PATH = /^\/v1\/sessions\/([^/]+)\/ssh-keys$/;
/** Key types `gatehouse connect` may register; DSA and anything unknown are refused. */
const KEY_TYPES = new Set([
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
]);
/** `connect` registers one key per run; the cap keeps a leaked token from filling the session row. */
export const SSH_KEY_LIMITS = { perSession: 8, bodyBytes: 8 * 1024 } as const;

export interface SshKeyRouteDeps {
  sessions: { authenticate(token: string): Promise<SessionContext | null> };
  store: Pick<Store, 'getSession' | 'addSessionSshKey'>;
  hostKey: SshHostKey;
}

/**
 * `POST /v1/sessions/:id/ssh-keys`, as an `extraRoutes` handler of the HTTP app (answers false for
 * any other request). The caller proves the session with its bearer token and may only add keys
 * to that same session; the answer carries the gateway host key to pin in known_hosts.
 */
export function createSshKeyRoute(
  deps: SshKeyRouteDeps,
): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const match = PATH.exec(new URL(req.url ?? '/', 'http://gateway').pathname);
    if (!match) return false;
    if (req.method !== 'POST') {
      sendError(res, 405, 'request.method', 'use POST here', {}, { allow: 'POST' });
      return true;
    }
    let sessionId: string;
    try {
      sessionId = decodeURIComponent(match[1]!);
    } catch {
      sendError(res, 400, 'request.url', 'the session id in the URL is not valid');
      return true;
    }
    await register(deps, req, res, sessionId);
    return true;
  };
}

/** The request's OpenSSH public key of an accepted type; otherwise the error is sent and null returned. */
async function readPublicKey(req: IncomingMessage, res: ServerResponse): Promise<PublicKeyText | null> {
  const body = await readJsonBody(req, SSH_KEY_LIMITS.bodyBytes);
  if (!body.ok) {
    sendError(res, body.status, body.code, body.message);
    return null;
  }
  const text = (body.value as { public_key?: unknown } | null)?.public_key;
  const key = typeof text === 'string' ? parsePublicKeyLine(text) : null;
  if (!key) {
    sendError(res, 400, 'ssh.key-invalid', 'send {"public_key": "ssh-ed25519 AAAA..."}: one OpenSSH public key line');
    return null;
  }
  if (!KEY_TYPES.has(key.type)) {
    sendError(res, 400, 'ssh.key-type', `key type ${key.type} is not accepted; generate an ed25519 key`);
    return null;
  }
  return key;
}

async function register(
  deps: SshKeyRouteDeps,
  req: IncomingMessage,
  res: ServerResponse,
  sessionId: string,
): Promise<void> {
  const bearer = bearerToken(req.headers);
  if (bearer.kind !== 'token') {
    return sendError(
      res,
      401,
      'session.token-missing',
      'send the session token as Authorization: Bearer <token>',
      {},
      { 'www-authenticate': 'Bearer' },
    );
  }
  const session = await deps.sessions.authenticate(bearer.token);
  if (!session)
    return sendError(res, 401, 'session.invalid', 'the session token is unknown or expired; start a new session');
  if (session.sessionId !== sessionId)
    return sendError(
      res,
      403,
      'ssh.key-other-session',
      'a session token can register SSH keys only for its own session; use the id from POST /v1/sessions',
    );
  const key = await readPublicKey(req, res);
  if (!key) return;
  const stored = await deps.store.getSession(sessionId);
  if (!stored) return sendError(res, 404, 'session.not-found', `session ${sessionId} does not exist`);
  const known = stored.sshKeys.some((line) => parsePublicKeyLine(line)?.blob.equals(key.blob));
  if (!known) {
    if (stored.sshKeys.length >= SSH_KEY_LIMITS.perSession) {
      return sendError(
        res,
        409,
        'ssh.key-limit',
        `a session may register at most ${SSH_KEY_LIMITS.perSession} SSH keys; start a new session`,
      );
    }
    await deps.store.addSessionSshKey(sessionId, key.line);
  }
  const answer: SshKeyRegistration = {
    fingerprint: sshFingerprint(key.blob),
    host_key: deps.hostKey.publicKey,
    host_key_fingerprint: deps.hostKey.fingerprint,
  };
  sendJson(res, known ? 200 : 201, answer);
}

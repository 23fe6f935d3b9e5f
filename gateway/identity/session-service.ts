import picomatch from 'picomatch';
import type { SessionEndReason } from '../../wire/audit-events.ts';
import type { ConnectionGrant, ErrorBody, SessionGrant } from '../../wire/control-api.ts';
import { CONTROL_API_PATHS } from '../../wire/control-api.ts';
import type { GatehouseConfig } from '../config/config-types.ts';
import type { SessionRecord, Store } from '../store/store.ts';
import { denialHint } from './denial-hints.ts';
import { parseExchangeRequest } from './exchange-request.ts';
import type { IdentityRuleSpec } from '../policy/policy-types.ts';
import { compileIdentityRules, matchIdentity, type IdentityRule } from './identity-rules.ts';
import type { TrustedIssuer } from './issuers.ts';
import type { Clock, SessionContext } from './session-context.ts';
import { createSessionEnds } from './session-ends.ts';
import { hashSessionToken, newSessionId, newSessionToken, secretsEqual } from './session-token.ts';
import { createTokenVerifier, TOKEN_ERRORS } from './token-verifier.ts';

/** A session lives 15 minutes unless the request or the rule asks for less; static tokens are named `static-<name>`. */
export const SESSION_DEFAULTS = { ttlSeconds: 15 * 60, staticSessionPrefix: 'static-' } as const;
const NEVER = new Date('9999-12-31T23:59:59Z');

/** The identities part of the loaded policy; read on every exchange, so a reloaded policy applies at once. */
export interface IdentityPolicy {
  readonly identities: readonly IdentityRuleSpec[];
}

/** One line for the gateway log: denials carry full claim values here and nowhere else. */
export type SessionLog = (event: string, data: Record<string, unknown>) => void;

/** Everything the session service needs, passed in so tests can swap the store, issuers and clock. */
export interface SessionServiceOptions {
  store: Store;
  policy: IdentityPolicy;
  issuers: readonly TrustedIssuer[];
  clock: Clock;
  config: Pick<GatehouseConfig, 'connections' | 'staticTokens'>;
  log?: SessionLog;
  /** How often sessions in use here are checked for an end elsewhere, and expired ones swept (tests shorten them). */
  ends?: { pollMs?: number; sweepMs?: number };
}

/** Result of an exchange, as a value: the HTTP layer only serialises it. */
export type ExchangeResult =
  { ok: true; grant: SessionGrant; context: SessionContext } | { ok: false; status: number; error: ErrorBody['error'] };

/** Told when a session ends (`expired`, `revoked`, ...), so adapters can close its live connections. */
export type SessionEndedListener = (sessionId: string, reason: SessionEndReason) => void;
/** Told when a session starts, so the audit recorder can snapshot its claims. */
export type SessionStartedListener = (context: SessionContext, meta: { ip: string; issuer: string }) => void;

/** The only way into a session: the HTTP app, the native listeners and the tunnel all go through it. */
export interface SessionService {
  exchange(body: unknown, meta: { ip: string }): Promise<ExchangeResult>;
  /** Resolves a bearer token (session or static) to its live session; null when unknown, ended or expired. */
  authenticate(token: string): Promise<SessionContext | null>;
  get(id: string): Promise<SessionRecord | null>;
  /** Ends a live session; false when it was unknown or already ended. */
  revoke(id: string, reason: SessionEndReason): Promise<boolean>;
  /** The wire description of connection names (type and tunnel path); unknown names are left out. */
  describeConnections(names: readonly string[]): ConnectionGrant[];
  onEnded(listener: SessionEndedListener): () => void;
  onStarted(listener: SessionStartedListener): () => void;
  /**
   * Starts following ends made anywhere: ends the store's sessions already past expiry, then
   * listens for (and polls) ends of the sessions in use here and sweeps expired ones.
   */
  watchEnds(): Promise<void>;
  /** Stops expiry timers and the watch (sessions stay in the store). */
  close(): void;
}

/**
 * Sessions: trades a verified OIDC token for a scoped, expiring session token, answers which
 * session a bearer token belongs to, and tells listeners when a session ends (expiry or revoke)
 * so adapters can close its live connections.
 */
export function createSessionService(options: SessionServiceOptions): SessionService {
  const { store, clock, config } = options;
  const log: SessionLog = options.log ?? (() => {});
  const verifier = createTokenVerifier({ issuers: options.issuers, store, clock });
  const endedListeners = new Set<SessionEndedListener>();
  const startedListeners = new Set<SessionStartedListener>();
  let compiled: { source: readonly IdentityRuleSpec[]; rules: IdentityRule[] } | undefined;

  function rules(): IdentityRule[] {
    const source = options.policy.identities;
    if (compiled?.source !== source) compiled = { source, rules: compileIdentityRules(source) };
    return compiled.rules;
  }

  function grantableConnections(globs: readonly string[]): string[] {
    const matchers = globs.map((glob) => picomatch(glob, { dot: true, nonegate: true }));
    return Object.keys(config.connections).filter((name) => matchers.some((isMatch) => isMatch(name)));
  }

  function describeConnections(names: readonly string[]): ConnectionGrant[] {
    return names
      .filter((name) => config.connections[name] !== undefined)
      .map((name) => {
        const connection = config.connections[name]!;
        const namespace = connection.type === 'kubernetes' ? connection.namespace : undefined;
        return {
          name,
          type: connection.type,
          tunnel: `${CONTROL_API_PATHS.tunnelPrefix}${encodeURIComponent(name)}`,
          ...(namespace ? { namespace } : {}),
        };
      });
  }

  function notify<L extends (...args: never[]) => void>(
    listeners: Set<L>,
    sessionId: string,
    ...args: Parameters<L>
  ): void {
    for (const listener of listeners) {
      try {
        listener(...args);
      } catch (error) {
        log('session.listener-failed', { sessionId, error: (error as Error).message });
      }
    }
  }

  /** Ends a session in the store; whoever ended it first, this replica's listeners hear of it once it is over. */
  async function end(id: string, reason: SessionEndReason): Promise<boolean> {
    const first = await store.endSession(id, reason, clock.now());
    const watched = ends.untrack(id);
    if (first) {
      log('session.ended', { sessionId: id, reason });
      notify(endedListeners, id, id, reason);
      return true;
    }
    const record = watched ? await store.getSession(id) : null;
    if (record?.endedAt) notify(endedListeners, id, id, (record.endReason ?? reason) as SessionEndReason);
    return false;
  }

  const ends = createSessionEnds({
    store,
    clock,
    expire: (id) => end(id, 'expired'),
    announce: (id, reason) => {
      log('session.ended-elsewhere', { sessionId: id, reason });
      notify(endedListeners, id, id, reason);
    },
    log,
    ...options.ends,
  });

  function toContext(record: SessionRecord): SessionContext {
    return {
      sessionId: record.id,
      identity: { sessionId: record.id, claims: record.claims, identityRule: record.identityRule },
      connections: record.connections,
      expiresAt: record.expiresAt,
    };
  }

  function denied(
    status: number,
    code: string,
    message: string,
    extra: Partial<ErrorBody['error']> = {},
  ): ExchangeResult {
    return { ok: false, status, error: { code, message, ...extra } };
  }

  const staticSessions = config.staticTokens.map((stat) => {
    const sessionId = `${SESSION_DEFAULTS.staticSessionPrefix}${stat.name}`;
    const context: SessionContext = {
      sessionId,
      identity: { sessionId, claims: stat.claims, identityRule: sessionId },
      connections: grantableConnections(stat.connections),
      expiresAt: NEVER,
    };
    return { token: stat.token, context };
  });
  rules();

  return {
    async exchange(body, meta) {
      const request = parseExchangeRequest(body);
      if (!request.ok) return denied(400, 'request.invalid', request.message);
      const verified = await verifier.verify(request.token);
      if (!verified.ok) {
        log('session.token-refused', { ip: meta.ip, code: verified.code });
        return denied(verified.code === TOKEN_ERRORS.keysUnavailable ? 503 : 401, verified.code, verified.message);
      }
      const claims = verified.claims;
      let identityRules: IdentityRule[];
      try {
        identityRules = rules();
      } catch (error) {
        log('session.policy-invalid', { error: (error as Error).message });
        return denied(
          500,
          'policy.identity-invalid',
          'the gateway policy has an invalid identity rule; the gateway log names it',
        );
      }
      const match = matchIdentity(identityRules, claims);
      if (!match.ok) {
        log('session.denied', { ip: meta.ip, issuer: verified.issuer, claims, tried: match.tried });
        const names = match.tried.flatMap((t) => t.failedClaims);
        return denied(
          403,
          'identity.no-rule-matched',
          `no identity rule admits this job (tried: ${match.tried.map((t) => t.rule).join(', ') || 'none'})`,
          {
            rules: match.tried.map((t) => ({ rule: t.rule, failed_claims: t.failedClaims })),
            hint: denialHint(names, identityRules.length),
          },
        );
      }
      const rule = match.rule;
      const grantable = grantableConnections(rule.connections);
      const notGranted = (request.connections ?? []).filter((name) => !grantable.includes(name));
      if (notGranted.length > 0) {
        log('session.connection-denied', { ip: meta.ip, rule: rule.name, requested: request.connections, claims });
        return denied(
          403,
          'connection.not-granted',
          `identity rule ${rule.name} does not grant ${notGranted.join(', ')} (it grants: ${grantable.join(', ') || 'nothing'})`,
          {
            hint: "add the connection to the rule's connections: list, or request only granted connections",
          },
        );
      }
      const connections = request.connections ?? grantable;
      if (connections.length === 0) {
        return denied(403, 'connection.not-granted', `identity rule ${rule.name} grants no configured connection`, {
          hint: "the rule's connections: globs match no name under connections: in gatehouse.yaml",
        });
      }
      const ttlSeconds = Math.min(
        request.ttlSeconds ?? SESSION_DEFAULTS.ttlSeconds,
        rule.maxTtlSeconds ?? SESSION_DEFAULTS.ttlSeconds,
      );
      const now = clock.now();
      const token = newSessionToken();
      const record: SessionRecord = {
        id: newSessionId(),
        tokenHash: hashSessionToken(token),
        identityRule: rule.name,
        claims,
        connections,
        createdAt: now,
        expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
        endedAt: null,
        endReason: null,
        sshKeys: [],
      };
      await store.createSession(record);
      ends.track(record.id, record.expiresAt);
      const context = toContext(record);
      log('session.started', {
        sessionId: record.id,
        ip: meta.ip,
        rule: rule.name,
        connections,
        expiresAt: record.expiresAt.toISOString(),
      });
      notify(startedListeners, record.id, context, { ip: meta.ip, issuer: verified.issuer });
      return {
        ok: true,
        context,
        grant: {
          id: record.id,
          token,
          expires_at: record.expiresAt.toISOString(),
          connections: describeConnections(connections),
        },
      };
    },

    async authenticate(token) {
      if (typeof token !== 'string' || token.length === 0 || token.length > 1024) return null;
      for (const stat of staticSessions) {
        if (secretsEqual(stat.token, token)) return stat.context;
      }
      const record = await store.findSessionByTokenHash(hashSessionToken(token));
      if (!record || record.endedAt || record.expiresAt.getTime() <= clock.now().getTime()) return null;
      ends.track(record.id, record.expiresAt);
      return toContext(record);
    },

    get: (id) => store.getSession(id),
    describeConnections,
    revoke: (id, reason) => end(id, reason),

    onEnded(listener) {
      endedListeners.add(listener);
      return () => endedListeners.delete(listener);
    },
    onStarted(listener) {
      startedListeners.add(listener);
      return () => startedListeners.delete(listener);
    },

    watchEnds: () => ends.start(),
    close: () => ends.close(),
  };
}

/**
 * Bounds what a client can hold on a native listener before it has proved who it is: how long it may
 * take (a silent SSLRequest, a TLS handshake never finished, a password never sent) and how many
 * such connections exist, per source address and in total. Without it, a thousand silent sockets
 * exhaust the gateway's file descriptors and every other session fails with them.
 */
export interface LoginLimits {
  /** Time from accept to a verified credential. */
  timeoutMs: number;
  /** Unauthenticated connections across all sources. */
  maxTotal: number;
  /** Unauthenticated connections from one source address. */
  maxPerSource: number;
}

/** One admitted connection: call `authenticated` once the credential is verified (or `release` when it fails). */
export interface LoginAdmission {
  /** Aborted when the login time is up; the adapter answers in its protocol and closes. */
  readonly timedOut: AbortSignal;
  authenticated(): void;
  release(): void;
}

/** Why a connection was not admitted, for the adapter to say in its protocol's words. */
export type LoginRefusal = { refused: string };

export interface LoginLimiter {
  admit(source: string | undefined): LoginAdmission | LoginRefusal;
  /** Unauthenticated connections now (for tests and metrics). */
  readonly pending: number;
}

/** Builds one limiter for one listener. */
export function createLoginLimiter(limits: LoginLimits): LoginLimiter {
  const bySource = new Map<string, number>();
  let total = 0;
  const seconds = Math.round(limits.timeoutMs / 100) / 10;
  return {
    get pending() {
      return total;
    },
    admit(source) {
      const key = source ?? 'unknown';
      const fromSource = bySource.get(key) ?? 0;
      if (total >= limits.maxTotal)
        return {
          refused: `too many connections are logging in to this gateway (${limits.maxTotal}, limits.max_unauthenticated_connections); try again shortly`,
        };
      if (fromSource >= limits.maxPerSource)
        return {
          refused: `too many connections from ${key} are logging in at once (${limits.maxPerSource}, limits.max_unauthenticated_per_source); try again shortly`,
        };
      total++;
      bySource.set(key, fromSource + 1);
      const timeout = new AbortController();
      const timer = setTimeout(
        () =>
          timeout.abort(new Error(`the login did not complete within ${seconds} s (limits.authentication_timeout)`)),
        limits.timeoutMs,
      );
      timer.unref();
      let done = false;
      const release = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        total--;
        const left = (bySource.get(key) ?? 1) - 1;
        if (left > 0) bySource.set(key, left);
        else bySource.delete(key);
      };
      return { timedOut: timeout.signal, authenticated: release, release };
    },
  };
}

/** A limiter that admits everything without bounds: streams the tunnel already authenticated. */
export const unlimitedLogin: LoginAdmission = {
  timedOut: new AbortController().signal,
  authenticated() {},
  release() {},
};

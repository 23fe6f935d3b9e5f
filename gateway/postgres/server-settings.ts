/**
 * Settings the gateway relies on, watched as the server reports them (ParameterStatus). The
 * analysis lexes SQL as the server does only with standard_conforming_strings on and a client
 * encoding in which every byte means what UTF-8 says; identities and read-only mode must not move
 * under it. A change by any route the analysis missed closes the connection.
 */
const EXPECTED: Readonly<Record<string, { ok: (value: string) => boolean; why: string }>> = {
  standard_conforming_strings: {
    ok: (v) => v.toLowerCase() === 'on',
    why: 'the gateway reads string literals as the server does only with standard_conforming_strings on',
  },
  client_encoding: {
    ok: (v) => /^(utf-?8|unicode|sql_ascii)$/i.test(v),
    why: 'the gateway analyses statements as UTF-8; another encoding can hide quotes from it',
  },
};

/** Reported settings that must keep the value the session started with. */
const FIXED = new Set(['session_authorization', 'is_superuser']);

/** The server's settings at connect (and the ones the gateway asked for) against which later reports are checked. */
export interface WatchedSettings {
  /** Why the session cannot start with these settings, or null. */
  startupProblem(): string | null;
  /** Why a reported change (ParameterStatus) ends the session, or null. */
  changeProblem(name: string, value: string): string | null;
}

/**
 * `initial`: the ParameterStatus values of the target's startup; `imposed`: startup parameters the
 * gateway set itself (default_transaction_read_only for a read-only session), which must hold.
 */
export function watchSettings(
  initial: ReadonlyMap<string, string>,
  imposed: Readonly<Record<string, string>> = {},
): WatchedSettings {
  const check = (name: string, value: string): string | null => {
    const expected = EXPECTED[name];
    if (expected && !expected.ok(value)) return `the server reports ${name} = ${value}: ${expected.why}`;
    const fixed = imposed[name] ?? (FIXED.has(name) ? initial.get(name) : undefined);
    if (fixed !== undefined && value !== fixed)
      return `the server reports ${name} = ${value}, but this session runs with ${name} = ${fixed}`;
    return null;
  };
  return {
    startupProblem() {
      for (const name of Object.keys(EXPECTED)) {
        const value = initial.get(name);
        if (value === undefined) continue;
        const problem = check(name, value);
        if (problem) return `${problem}; the target's configuration (ALTER ROLE/DATABASE SET) must keep it`;
      }
      for (const [name, value] of Object.entries(imposed)) {
        const reported = initial.get(name);
        if (reported !== undefined && reported !== value)
          return `the server did not take ${name} = ${value} at connect (it reports ${reported})`;
      }
      return null;
    },
    changeProblem(name, value) {
      const problem = check(name, value);
      return problem && `gatehouse: ${problem}; a setting the gateway relies on changed, so the connection is closed`;
    },
  };
}

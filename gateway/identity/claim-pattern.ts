import picomatch from 'picomatch';
import { GatehouseError } from '../errors/gatehouse-error.ts';

/** A compiled claim condition of an identity rule. */
export type ClaimTest = (value: string) => boolean;

const GLOB_CHARS = /[*?[]/;

/**
 * Compiles one claim pattern of an identity rule: `/regex/` is anchored to the whole value, a
 * value with `*`, `?` or `[` is a glob (`*` stops at `/`, `**` crosses it), anything else is
 * compared exactly. `where` names the rule and claim for the error message.
 */
export function compileClaimPattern(pattern: string, where: string): ClaimTest {
  if (pattern.length >= 2 && pattern.startsWith('/') && pattern.endsWith('/')) {
    let regex: RegExp;
    try {
      regex = new RegExp(`^(?:${pattern.slice(1, -1)})$`, 'u');
    } catch (error) {
      throw new GatehouseError(
        'policy.identity-regex',
        `${where}: ${pattern} is not a valid regular expression (${(error as Error).message}); fix it or quote a plain value`,
      );
    }
    return (value) => regex.test(value);
  }
  if (GLOB_CHARS.test(pattern)) {
    const isMatch = picomatch(pattern, { dot: true, nonegate: true, noextglob: true });
    return (value) => isMatch(value);
  }
  return (value) => value === pattern;
}

/** Claim values as strings for matching; numbers and booleans in their JSON form, anything else absent. */
export function claimAsString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

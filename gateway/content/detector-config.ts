import { GatehouseError } from '../errors/gatehouse-error.ts';

export const DETECTOR_NAMES = [
  'payment_card',
  'email',
  'us_ssn',
  'jwt',
  'aws_access_key',
  'github_token',
  'private_key',
] as const;
/** Built-in content detectors a policy can switch on by name, for every protocol. */
export type DetectorName = (typeof DETECTOR_NAMES)[number];

/** A custom detector after validation: the policy's regex, compiled once. */
export interface CustomDetector {
  name: string;
  pattern: RegExp;
}

/**
 * Checks one detector name of a policy's `masking:` section; `where` names the entry in the
 * error (`masking[2].detectors`), so the operator can find and fix it.
 */
export function detectorName(name: string, where: string): DetectorName {
  if (!(DETECTOR_NAMES as readonly string[]).includes(name)) {
    throw new GatehouseError(
      'masking.unknown-detector',
      `${where}: unknown detector "${name}"; use one of ${DETECTOR_NAMES.join(', ')} or a custom_detectors entry`,
    );
  }
  return name as DetectorName;
}

/** Compiles one `custom_detectors` entry; a pattern that is not a regular expression is an error naming `where`. */
export function compileCustomDetector(entry: { name: string; pattern: string }, where: string): CustomDetector {
  try {
    return { name: entry.name, pattern: new RegExp(entry.pattern, 'g') };
  } catch (cause) {
    throw new GatehouseError(
      'masking.bad-pattern',
      `${where}: pattern of "${entry.name}" is not a valid regular expression; fix its syntax`,
      { cause },
    );
  }
}

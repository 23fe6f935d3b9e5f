import { GatehouseError } from '../errors/gatehouse-error.ts';

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;
const DURATION = /^(\d{1,7})(s|m|h|d)?$/;

/**
 * Parses a lifetime such as `90s`, `15m`, `1h` (a bare number is seconds) into seconds.
 * `where` names the field for the error message.
 */
export function parseDurationSeconds(text: string, where: string): number {
  const match = DURATION.exec(text.trim());
  if (!match) {
    throw new GatehouseError('duration.invalid', `${where}: '${text}' is not a duration; write it like 90s, 15m or 1h`);
  }
  const seconds = Number(match[1]) * UNIT_SECONDS[(match[2] ?? 's') as keyof typeof UNIT_SECONDS];
  if (seconds <= 0) {
    throw new GatehouseError('duration.invalid', `${where}: '${text}' must be longer than zero; write it like 15m`);
  }
  return seconds;
}

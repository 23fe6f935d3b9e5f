import { GatehouseError } from '../errors/gatehouse-error.ts';

/**
 * JSON with object keys sorted at every level and no whitespace, so the same event always hashes
 * to the same bytes no matter which engine stored it (jsonb reorders keys) or which process wrote it.
 */
export function canonicalJson(value: unknown): string {
  let plain: unknown;
  try {
    plain = JSON.parse(JSON.stringify(value ?? null));
  } catch (error) {
    throw new GatehouseError(
      'audit.invalid-data',
      `audit event data cannot be written as JSON (${(error as Error).message}); pass plain strings, numbers, booleans, arrays and objects`,
      { cause: error },
    );
  }
  return write(plain);
}

function write(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(write).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${write((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

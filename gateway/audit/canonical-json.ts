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

/** Event data as canonical JSON and as the plain object that JSON parses back to. */
export interface CanonicalData {
  canonical: string;
  snapshot: Record<string, unknown>;
}

/**
 * {@link canonicalJson} of `data` together with its parsed snapshot, without the two JSON
 * round trips when the record is flat: every value a string, a finite number, a boolean, null,
 * undefined (left out, as JSON does) or an array of the first four (a statement's event, its
 * result). Anything else takes the general path; both give the same bytes.
 */
export function canonicalData(data: Record<string, unknown>): CanonicalData {
  const keys = Object.keys(data).sort();
  const snapshot: Record<string, unknown> = {};
  let canonical = '{';
  for (const key of keys) {
    const value = data[key];
    if (value === undefined) continue;
    // An assignment to "__proto__" would set the prototype, not a key: the general path keeps it a key.
    const written = key === '__proto__' ? undefined : flatValue(value);
    if (written === undefined) {
      const general = canonicalJson(data);
      return { canonical: general, snapshot: JSON.parse(general) as Record<string, unknown> };
    }
    canonical += `${canonical.length > 1 ? ',' : ''}${JSON.stringify(key)}:${written}`;
    snapshot[key] = Array.isArray(value) ? value.map(plainScalar) : plainScalar(value);
  }
  return { canonical: `${canonical}}`, snapshot };
}

function isScalar(value: unknown): boolean {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

/** -0 is written as 0 and parses back as 0. */
function plainScalar(value: unknown): unknown {
  return value === 0 ? 0 : value;
}

function flatValue(value: unknown): string | undefined {
  if (isScalar(value)) return JSON.stringify(value);
  if (!Array.isArray(value)) return undefined;
  const items: string[] = [];
  // Indexed, not every(): a sparse array's holes are not scalars.
  for (let i = 0; i < value.length; i++) {
    if (!isScalar(value[i])) return undefined;
    items.push(JSON.stringify(value[i]));
  }
  return `[${items.join(',')}]`;
}

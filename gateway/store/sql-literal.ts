import { GatehouseError } from '../errors/gatehouse-error.ts';

/**
 * A string as an SQL literal for statements sent without parameters. An E'' literal reads
 * backslashes as escapes whatever `standard_conforming_strings` says, so doubling backslashes
 * and quotes is the whole escaping. NUL cannot be stored in a PostgreSQL text value, so it is
 * refused rather than sent.
 */
export function sqlLiteral(value: string): string {
  if (value.includes('\0'))
    throw new GatehouseError(
      'store.invalid-value',
      'a value for the store contains a NUL character, which PostgreSQL text cannot hold',
    );
  return `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** An integer as an SQL literal; anything else is refused. */
export function sqlInteger(value: number): string {
  if (!Number.isSafeInteger(value))
    throw new GatehouseError('store.invalid-value', `${String(value)} is not an integer; the store expected one`);
  return String(value);
}

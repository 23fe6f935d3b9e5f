import { parseArgs, type ParseArgsConfig } from 'node:util';
import { GatehouseError } from '../errors/gatehouse-error.ts';

/** What `parseArgs` returns for a given configuration (node:util does not export the type). */
export type CommandArgs<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>;

/**
 * `parseArgs` for a CLI command: an unknown option or a missing value becomes a GatehouseError
 * (`code`, default `cli.usage`) ending with the command's usage, so the CLI prints a clear line
 * instead of the TypeError's stack trace.
 */
export function parseCommandArgs<const T extends ParseArgsConfig>(
  config: T,
  usage: string,
  code = 'cli.usage',
): CommandArgs<T> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw new GatehouseError(code, `${(error as Error).message}\n${usage}`);
  }
}

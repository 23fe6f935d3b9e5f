import type { GatehouseConfig } from '../config/config-types.ts';
import { operatorHandleFile, operatorToken, writeOperatorHandle } from './operator-handle.ts';

/** The operator credential of one gateway process and how it tells the CLI on its host where it listens. */
export interface OperatorPublication {
  token: string;
  /** Writes the handle file once the HTTP listener is up; returns the function that removes it at close. */
  publish(httpUrl: string): () => void;
}

/**
 * Picks this process's operator token and, once listening, writes the handle file the CLI reads.
 * A handle that cannot be written is logged, not fatal: the operator can still pass `--gateway`
 * and `operator.token`.
 */
export function publishOperatorApi(
  config: Pick<GatehouseConfig, 'operator' | 'store' | 'file'>,
  log: (message: string) => void,
): OperatorPublication {
  const { token, generated } = operatorToken(config);
  return {
    token,
    publish(httpUrl) {
      const file = operatorHandleFile(config);
      const url = httpUrl.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:');
      try {
        return writeOperatorHandle(file, { url, pid: process.pid, ...(generated ? { token } : {}) });
      } catch (error) {
        log(
          `operator: the handle file ${file} was not written (${(error as Error).message}); the CLI needs --gateway and operator.token`,
        );
        return () => {};
      }
    },
  };
}

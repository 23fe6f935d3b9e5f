import type { MysqlCatalog } from './masking/mysql-catalog.ts';
import type { MysqlGate, MysqlRequest } from './mysql-gate.ts';
import { resolveCalls } from './routine-calls.ts';

/**
 * Puts CALLs in the terms policy decides on before `inner` sees them: the procedure resolved in
 * the target's catalog and its body's statements (see `resolveCalls`). A procedure the catalog
 * does not know is refused here with MySQL's own "does not exist" code.
 */
export function withResolvedCalls(
  inner: MysqlGate,
  catalog: MysqlCatalog,
  onUnresolved: (request: MysqlRequest, reason: string) => void,
): MysqlGate {
  return {
    async check(request, control) {
      let resolved;
      try {
        resolved = await resolveCalls(request.statements, control.mode, catalog);
      } catch (error) {
        resolved = { unresolved: `the gateway could not resolve the called procedure: ${(error as Error).message}` };
      }
      if ('unresolved' in resolved) {
        onUnresolved(request, resolved.unresolved);
        return { forward: false, code: 1305, sqlState: '42000', message: `gatehouse: ${resolved.unresolved}` };
      }
      return inner.check(resolved === request.statements ? request : { ...request, statements: resolved }, control);
    },
    executed: (result) => inner.executed(result),
    close: (reason) => inner.close(reason),
  };
}

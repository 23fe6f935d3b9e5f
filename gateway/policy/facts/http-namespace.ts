import { compileHttpWhen, type HttpFacts } from '../../http-adapter/http-when.ts';
import type { HttpRequestAction } from '../actions-and-decisions.ts';
import { defaultDeny, type FactNamespace } from './fact-namespace.ts';

function httpDefaultDeny(action: HttpRequestAction): string {
  const what = action.upgrade ? `a WebSocket upgrade of ${action.path}` : `${action.method} ${action.path}`;
  const fix = action.upgrade ? 'with when.http.upgrade: [websocket]' : 'with when.http for it';
  return `no policy rule allows ${what} on connection '${action.connection}'; add an allow rule ${fix}`;
}

/** HTTP facts (`when.http`, compiled by `http-adapter/http-when.ts`): one request of an `http` connection. */
export const HTTP_FACTS: FactNamespace<HttpRequestAction, HttpFacts> = {
  name: 'http',
  actionTypes: ['http.request'],
  names: (when) => when.http !== undefined,
  compile: (rule) => ({ matches: compileHttpWhen(rule.when.http ?? {}, rule.action !== 'deny') }),
  createEvaluator: () => ({
    evaluate: (action, scope) => ({
      decision: scope.decide(action) ?? defaultDeny(httpDefaultDeny(action)),
      statements: [],
    }),
  }),
};

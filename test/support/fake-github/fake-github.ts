import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { matchOperation, type GitHubSpec, type Operation } from './openapi-operations.ts';
import { createGitHubModel, type GitHubModel } from './github-model.ts';

/** One request the app made, as the fake understood it. */
export interface RecordedCall {
  method: string;
  template: string;
  operationId: string;
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  status: number;
  /** When the request arrived (ms since epoch). */
  at: number;
}

export interface HandlerResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (call: {
  params: Record<string, string>;
  query: Record<string, string>;
  body: any;
  op: Operation;
  baseUrl: string;
}) => HandlerResult;

/**
 * A GitHub REST API over real HTTP that only knows what GitHub's OpenAPI description knows: an
 * unknown endpoint, an unknown or mistyped parameter or body field, or a response the fake itself
 * builds wrongly, lands in `problems` (and the request fails), so a test can assert there were none.
 */
export interface FakeGitHub {
  url: string;
  model: GitHubModel;
  problems: string[];
  calls: RecordedCall[];
  /** Replaces the answer of one operation, e.g. `fake.override('GET /repos/{owner}/{repo}/actions/runs/{run_id}', ...)`. */
  override(key: string, handler: Handler): void;
  close(): Promise<void>;
}

export async function startFakeGitHub(spec: GitHubSpec): Promise<FakeGitHub> {
  const { validators } = spec;
  const problems: string[] = [];
  const calls: RecordedCall[] = [];
  const model = createGitHubModel(spec);
  const overrides = new Map<string, Handler>();
  let baseUrl = '';

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        serve(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch (error) {
        problems.push(`${req.method} ${req.url}: the fake failed: ${(error as Error).message}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'fake failure' }));
      }
    });
  });

  function serve(req: http.IncomingMessage, res: http.ServerResponse, text: string): void {
    {
      const url = new URL(req.url ?? '/', 'http://github');
      const method = req.method ?? 'GET';
      const reply = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
        res.end(body === undefined ? '' : JSON.stringify(body));
      };
      const found = matchOperation(spec, method, url.pathname);
      if (!found) {
        problems.push(`${method} ${url.pathname}: GitHub has no such endpoint`);
        return reply(404, { message: 'Not Found' });
      }
      const { operation: op, params } = found;
      const where = `${method} ${op.template}`;
      const query = Object.fromEntries(url.searchParams);
      const requestProblems: string[] = [];
      for (const p of op.parameters) {
        const value = p.in === 'path' ? params[p.name] : p.in === 'query' ? query[p.name] : undefined;
        if (p.in !== 'path' && p.in !== 'query') continue;
        if (value === undefined) {
          if (p.required) requestProblems.push(`missing ${p.in} parameter ${p.name}`);
          continue;
        }
        const problem = validators.parameter(op, p.name, value, p.schema);
        if (problem) requestProblems.push(`${p.in} parameter ${p.name}=${value}: ${problem}`);
      }
      for (const name of Object.keys(query)) {
        if (!op.parameters.some((p) => p.in === 'query' && p.name === name))
          requestProblems.push(`unknown query parameter ${name}`);
      }
      let body: unknown;
      if (text) {
        try {
          body = JSON.parse(text);
        } catch {
          requestProblems.push('body is not JSON');
        }
      }
      if (op.requestBody) {
        if (body === undefined && op.requestBody.required) requestProblems.push('missing request body');
        else if (body !== undefined) {
          const problem = validators.requestBody(op, body);
          if (problem) requestProblems.push(`body: ${problem}`);
        }
      } else if (body !== undefined && method !== 'GET') {
        requestProblems.push('GitHub takes no body here');
      }
      const auth = req.headers.authorization ?? '';
      const wantsJwt = op.template.startsWith('/app') || op.template === '/repos/{owner}/{repo}/installation';
      if (wantsJwt ? !/^bearer /i.test(auth) : !/^token /i.test(auth)) {
        requestProblems.push(
          `needs ${wantsJwt ? 'the app JWT (Bearer)' : 'an installation token'}, got '${auth.split(' ')[0] ?? ''}'`,
        );
      }
      if (requestProblems.length > 0) {
        problems.push(...requestProblems.map((p) => `${where}: ${p}`));
        calls.push({
          method,
          template: op.template,
          operationId: op.operationId,
          params,
          query,
          body,
          status: 422,
          at: Date.now(),
        });
        return reply(422, { message: `Validation Failed: ${requestProblems.join('; ')}` });
      }
      const handler = overrides.get(where) ?? model.handlers.get(where);
      if (!handler) {
        problems.push(`${where}: valid, but the fake has no handler for ${op.operationId}`);
        return reply(501, { message: 'not implemented in the fake' });
      }
      const result = handler({ params, query, body, op, baseUrl });
      const responseProblem = validators.response(op, result.status, result.body);
      if (responseProblem)
        problems.push(`${where} → ${result.status}: the fake's own response is wrong: ${responseProblem}`);
      calls.push({
        method,
        template: op.template,
        operationId: op.operationId,
        params,
        query,
        body,
        status: result.status,
        at: Date.now(),
      });
      reply(result.status, result.body, result.headers);
    }
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: baseUrl,
    model,
    problems,
    calls,
    override: (key, handler) => void overrides.set(key, handler),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

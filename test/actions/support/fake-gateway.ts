import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { close, listen } from './fake-github.ts';

/**
 * A stand-in client bundle: parses the arguments the action passes, listens on a real local port
 * per connection, prints the ready line and runs until SIGTERM, like `gatehouse connect`.
 */
export const FAKE_CLIENT = `
import net from 'node:net';
const args = process.argv.slice(2);
const value = (flag) => args[args.indexOf(flag) + 1];
const names = [];
for (let i = 0; i < args.length; i += 1) { if (args[i].startsWith('--')) { i += 1; continue; } names.push(args[i]); }
const token = process.env[value('--session-token-env')];
if (!token) { console.error('no session token in the environment'); process.exit(3); }
const connections = [];
for (const spec of names) {
  const [name, wanted] = spec.split(':');
  const server = net.createServer((s) => s.end());
  await new Promise((r) => server.listen(wanted ? Number(wanted) : 0, '127.0.0.1', r));
  const port = server.address().port;
  const password = 'pw' + Math.random().toString(36).slice(2);
  connections.push({ name, type: name.endsWith('-host') ? 'ssh' : 'postgres', host: '127.0.0.1', port, user: 'ci', password, database: name, url: 'postgresql://ci:' + password + '@127.0.0.1:' + port + '/' + name });
}
console.error('fake client for ' + value('--gateway'));
process.stdout.write(JSON.stringify({ session_id: value('--session-id'), expires_at: '2030-01-01T00:00:00Z', connections }) + '\\n');
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1000);
`;

/** The final audit hash the fake gateway answers `DELETE /v1/sessions/:id` with. */
export const FAKE_FINAL_HASH = 'fe'.repeat(32);

export interface FakeGatewayOptions {
  version?: string;
  clientBody?: string;
  /** Answer to POST /v1/sessions; defaults to a grant of `granted`. */
  session?: (body: { token: string; connections?: string[] }) => { status: number; body: unknown };
  granted?: string[];
  log?: unknown;
}

/** A small HTTP gateway that speaks the control API and records what the action asked. */
export interface FakeGateway {
  url: string;
  requests: { method: string; path: string; authorization?: string; body?: unknown }[];
  sessionToken: string;
  close(): Promise<void>;
}

export async function startFakeGateway(options: FakeGatewayOptions = {}): Promise<FakeGateway> {
  const client = options.clientBody ?? FAKE_CLIENT;
  const sha256 = createHash('sha256').update(client).digest('hex');
  const sessionToken = `gwh_${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  const requests: FakeGateway['requests'] = [];
  let lastGrant: { connections: unknown[] } | undefined;
  const json = (status: number, body: unknown) => ({ status, body });
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const path = (req.url ?? '/').split('?')[0]!;
    requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization, body });
    let answer: { status: number; body: unknown } | undefined;
    if (req.method === 'GET' && path === '/v1/version')
      answer = json(200, { version: options.version ?? '0.9.0', client: { url: '/v1/client/connect.mjs', sha256 } });
    else if (req.method === 'GET' && path === '/v1/client/connect.mjs') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(client);
      return;
    } else if (req.method === 'POST' && path === '/v1/sessions') {
      const request = body as { token: string; connections?: string[] };
      answer =
        options.session?.(request) ??
        json(201, {
          id: 'ses_fake1',
          token: sessionToken,
          expires_at: '2030-01-01T00:00:00Z',
          connections: (options.granted ?? request.connections ?? ['app-db']).map((name) => ({
            name,
            type: 'postgres',
            tunnel: `/v1/tunnel/${name}`,
          })),
        });
      if (answer.status === 201) lastGrant = answer.body as { connections: unknown[] };
    } else if (req.headers.authorization !== `Bearer ${sessionToken}`)
      answer = json(401, { error: { code: 'unauthorized', message: 'no session' } });
    else if (req.method === 'GET' && /^\/v1\/sessions\/[^/]+$/.test(path)) {
      answer = json(200, {
        id: path.split('/').pop(),
        identity_rule: 'fake',
        created_at: '2029-12-31T23:00:00Z',
        expires_at: '2030-01-01T00:00:00Z',
        ended_at: null,
        end_reason: null,
        connections: lastGrant?.connections ?? [],
        claims: {},
      });
    } else if (req.method === 'DELETE' && path.startsWith('/v1/sessions/'))
      answer = json(200, {
        id: path.split('/').pop(),
        ended: true,
        end_reason: 'disconnect',
        final_hash: FAKE_FINAL_HASH,
      });
    else if (req.method === 'GET' && path.endsWith('/log')) answer = json(200, options.log ?? { events: [] });
    answer ??= json(404, { error: { code: 'not-found', message: 'no such route' } });
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, requests, sessionToken, close: () => close(server) };
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

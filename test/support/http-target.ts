import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { WebSocketServer } from 'ws';

/** One request as the target saw it: the proof of what the gateway forwarded. */
export interface TargetRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

/** A real HTTP server for HTTP adapter tests, with a log of every request it received. */
export interface HttpTestTarget {
  url: string;
  port: number;
  requests: TargetRequest[];
  close(): Promise<void>;
}

/** A GitHub-token-shaped secret the target leaks in its answers, for masking tests. */
export const LEAKED_TOKEN = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';

type Route = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

const json = (res: http.ServerResponse, value: unknown, status = 200) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
};

const ROUTES: Record<string, Route> = {
  '/json': (_req, res) => json(res, { user: { name: 'ada', password: 'hunter2', token: LEAKED_TOKEN }, ok: true }),
  '/text': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`deploy key: ${LEAKED_TOKEN}\nbye\n`);
  },
  '/cookie': (_req, res) => {
    res.writeHead(401, {
      'content-type': 'application/json',
      'set-cookie': ['sid=secret-session; HttpOnly'],
      'www-authenticate': 'Basic realm="target"',
    });
    res.end('{"error":"who are you"}');
  },
  '/chunked': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    let n = 0;
    const timer = setInterval(() => {
      res.write(`chunk ${n} ${n === 2 ? LEAKED_TOKEN : ''}\n`);
      if (++n === 4) {
        clearInterval(timer);
        res.end();
      }
    }, 20);
  },
  '/sse': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let n = 0;
    const timer = setInterval(() => {
      res.write(`event: tick\ndata: {"n":${n},"secret":"${n === 1 ? LEAKED_TOKEN : 'none'}"}\n\n`);
      if (++n === 3) {
        clearInterval(timer);
        res.end();
      }
    }, 30);
  },
  '/gzip': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    res.end(zlib.gzipSync(JSON.stringify({ note: `token ${LEAKED_TOKEN}`, password: 'p@ss' })));
  },
  '/binary': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(Buffer.from([0, 1, 2, 3]));
  },
  '/redirect': (_req, res) => {
    res.writeHead(302, { location: `http://${_req.headers.host}/json` });
    res.end();
  },
  '/small': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '11' });
    res.end('{"ok":true}');
  },
};

/** Echoes the request back as JSON (method, path, headers, body), for any path without a route of its own. */
const echo: Route = (req, res, body) =>
  json(res, { method: req.method, url: req.url, headers: req.headers, body }, req.method === 'POST' ? 201 : 200);

export async function startHttpTarget(): Promise<HttpTestTarget> {
  const requests: TargetRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
      });
      const path = new URL(req.url ?? '/', 'http://target').pathname;
      (ROUTES[path] ?? echo)(req, res, body);
    });
  });
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (ws, req) => {
    requests.push({ method: 'GET', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body: '' });
    ws.on('message', (data, isBinary) => {
      const text = data.toString();
      ws.send(isBinary ? data : `echo: ${text}${text === 'leak' ? ` ${LEAKED_TOKEN}` : ''}`, { binary: isBinary });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

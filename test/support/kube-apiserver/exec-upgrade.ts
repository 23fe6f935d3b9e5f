import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { RequestRecord } from './kube-apiserver.ts';
import { EXEC_PROTOCOLS, runExec, type ExecRecord } from './pod-exec.ts';
import { parseResourcePath, type Cluster } from './request-context.ts';

function refuse(socket: Duplex, record: RequestRecord, code: number, reason: string, message: string): void {
  record.status = code;
  const body = JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  });
  socket.end(
    `HTTP/1.1 ${code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
}

function offered(req: http.IncomingMessage): string[] {
  return (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
}

/**
 * The `upgrade` handler for `pods/<name>/exec`: WebSocket with the remotecommand v5 (or v4)
 * subprotocol only. SPDY, which kubectl falls back to, is refused here, so a test sees at once
 * when a client (or the gateway) did not stay on WebSocket.
 */
export function acceptExec(
  cluster: Cluster,
  execs: ExecRecord[],
  recordOf: (req: http.IncomingMessage) => RequestRecord,
): { handle: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void; close: () => void } {
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => EXEC_PROTOCOLS.find((p) => protocols.has(p)) ?? false,
  });
  const handle = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const record = recordOf(req);
    const url = new URL(req.url ?? '/', 'https://kubernetes');
    if (record.credential.kind === 'none') return refuse(socket, record, 401, 'Unauthorized', 'Unauthorized');
    const parsed = parseResourcePath(url.pathname);
    if (!parsed || parsed.type.resource !== 'pods' || parsed.subresource !== 'exec')
      return refuse(socket, record, 404, 'NotFound', `the stand-in upgrades only pods/<name>/exec (${url.pathname})`);
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
      return refuse(
        socket,
        record,
        400,
        'BadRequest',
        `the stand-in speaks WebSocket only, not ${req.headers.upgrade}`,
      );
    const protocol = EXEC_PROTOCOLS.find((p) => offered(req).includes(p));
    if (!protocol) return refuse(socket, record, 400, 'BadRequest', 'no supported remotecommand subprotocol offered');
    const pod = cluster.store.get(parsed.type, parsed.namespace, parsed.name);
    if (!pod) return refuse(socket, record, 404, 'NotFound', `pods "${parsed.name}" not found`);
    const query = url.searchParams;
    const command = query.getAll('command');
    if (command.length === 0) return refuse(socket, record, 400, 'BadRequest', 'you must specify at least 1 command');
    const container = query.get('container') ?? pod.spec?.containers?.[0]?.name ?? '';
    const exec: ExecRecord = {
      namespace: parsed.namespace,
      pod: parsed.name,
      container,
      command,
      protocol,
      stdin: '',
      exitCode: null,
    };
    execs.push(exec);
    wss.handleUpgrade(req, socket, head, (ws) => {
      const options = { sandbox: cluster.sandbox, container, command, stdin: query.get('stdin') === 'true', protocol };
      runExec(ws, pod, options, exec);
    });
  };
  return { handle, close: () => wss.close() };
}

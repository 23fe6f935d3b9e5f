import type http from 'node:http';
import net from 'node:net';
import type { GatehouseConfig } from '../config/config-types.ts';
import type { ProtocolAdapter } from '../enforcement/adapter-contract.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';

/**
 * Every address of `listen:` bound before the gateway touches its store. A second
 * `gatehouse serve` on a busy port must fail before it runs anything that changes shared state
 * (crash recovery ends the sessions and abandons the approvals of a gateway with its name), so
 * the sockets are taken first and connections wait (their bytes buffered, unread) until the parts
 * that serve them exist.
 */
export interface BoundListeners {
  httpUrl: string;
  /** The port of each native listener, by `listen:` key (connection type). */
  ports: Record<string, number>;
  /** Starts serving: HTTP connections go to `httpServer`, a native listener's to its adapter. */
  serve(httpServer: http.Server, adapters: readonly ProtocolAdapter[]): void;
  close(): Promise<void>;
}

type ListenKey = keyof GatehouseConfig['listen'];

export async function bindListeners(listen: GatehouseConfig['listen']): Promise<BoundListeners> {
  const servers = new Map<ListenKey, net.Server>();
  let route: ((key: ListenKey, socket: net.Socket) => void) | null = null;
  const waiting: Array<[ListenKey, net.Socket]> = [];
  const bound: Record<string, { host: string; port: number }> = {};
  // The HTTP server never listens itself, so its closeAllConnections() does not know these sockets.
  const httpSockets = new Set<net.Socket>();
  const close = (): Promise<void> => {
    const closed = Promise.all(
      [...servers.values()].map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
    for (const [, socket] of waiting.splice(0)) socket.destroy();
    for (const socket of httpSockets) socket.destroy();
    return closed.then(() => undefined);
  };
  try {
    for (const key of Object.keys(listen) as ListenKey[]) {
      const address = listen[key];
      if (!address) continue;
      const server = net.createServer((socket) => {
        if (key === 'http') {
          httpSockets.add(socket);
          socket.once('close', () => httpSockets.delete(socket));
        }
        if (route) route(key, socket);
        else waiting.push([key, socket]);
      });
      servers.set(key, server);
      bound[key] = await listenOn(server, address, key);
    }
  } catch (error) {
    await close();
    throw error;
  }
  const http = bound.http!;
  return {
    httpUrl: `http://${http.host}:${http.port}`,
    ports: Object.fromEntries(
      Object.entries(bound)
        .filter(([key]) => key !== 'http')
        .map(([k, a]) => [k, a.port]),
    ),
    serve(httpServer, adapters) {
      const byType = new Map(adapters.map((adapter) => [adapter.type, adapter]));
      route = (key, socket) => {
        if (key === 'http') return void httpServer.emit('connection', socket);
        const adapter = byType.get(key);
        if (!adapter) return void socket.destroy();
        socket.setNoDelay(true);
        adapter.accept(socket, { loopback: isLoopback(socket.remoteAddress), remoteAddress: socket.remoteAddress });
      };
      for (const [key, socket] of waiting.splice(0)) route(key, socket);
    },
    close,
  };
}

async function listenOn(server: net.Server, hostPort: string, key: string): Promise<{ host: string; port: number }> {
  const at = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, at) || '0.0.0.0';
  const port = Number(hostPort.slice(at + 1));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, hostPort, key)));
    server.listen(port, host, () => resolve());
  });
  return { host, port: (server.address() as net.AddressInfo).port };
}

function listenError(error: NodeJS.ErrnoException, hostPort: string, key: string): Error {
  if (error.code === 'EADDRINUSE') {
    return new GatehouseError(
      'listen.in-use',
      `cannot listen on ${hostPort} (listen.${key}): the address is already in use, by another gatehouse serve or another program; stop it or pick another port in gatehouse.yaml. Nothing was changed: sessions and approvals of a gateway already running are untouched`,
      { cause: error },
    );
  }
  if (error.code === 'EACCES' || error.code === 'EADDRNOTAVAIL') {
    return new GatehouseError(
      'listen.refused',
      `cannot listen on ${hostPort} (listen.${key}): ${error.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)' : 'no such local address'}; pick another address in gatehouse.yaml`,
      { cause: error },
    );
  }
  return error;
}

function isLoopback(address: string | undefined): boolean {
  return (
    address === '127.0.0.1' ||
    address === '::1' ||
    address === '::ffff:127.0.0.1' ||
    (address?.startsWith('127.') ?? false)
  );
}

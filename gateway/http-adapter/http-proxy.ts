import type { Duplex } from 'node:stream';
import { createClientServer } from './client-server.ts';
import { runExchange, type ProxyEnforcer } from './exchange.ts';
import type { HttpProxyHooks, ProxyConnection } from './proxy-types.ts';
import { relayWebSocket } from './websocket-relay.ts';

/** The HTTP proxy of one connection: hand it authenticated client streams. */
export interface HttpProxy<C> {
  /** Reads requests from `stream` until it closes; `client` is what hooks and the enforcer get for each. */
  accept(stream: Duplex, client: C): void;
  close(): void;
}

/** What a protocol adapter builds an HTTP proxy from. */
export interface HttpProxyOptions<A, C> {
  connection: ProxyConnection;
  hooks: HttpProxyHooks<A, C>;
  enforcer: ProxyEnforcer<A, C>;
  log(message: string): void;
}

/**
 * The reusable base of the HTTP and Kubernetes adapters: strict HTTP/1.1 from the client stream,
 * every request checked, decided through the enforcement core, forwarded with the connection's
 * credential and answered with a filtered, masked response; WebSocket upgrades relayed when allowed.
 * Protocols differ only in their {@link HttpProxyHooks}.
 */
export function createHttpProxy<A, C>(options: HttpProxyOptions<A, C>): HttpProxy<C> {
  const deps = options;
  const server = createClientServer<C>(
    {
      request(req, res, stream) {
        runExchange(req, res, stream, deps).catch((error: Error) => {
          options.log(`http: exchange failed: ${error.message}`);
          res.destroy();
        });
      },
      upgrade(req, socket, head, stream) {
        relayWebSocket(req, socket, head, stream, deps).catch((error: Error) => {
          options.log(`http: websocket relay failed: ${error.message}`);
          socket.destroy();
        });
      },
      ...(options.hooks.otherUpgrade ? { otherUpgrade: options.hooks.otherUpgrade.bind(options.hooks) } : {}),
    },
    { maxHeaderBytes: options.connection.limits.maxHeaderBytes, deadlines: options.connection.limits.deadlines },
  );
  return {
    accept: (stream, client) => void server.accept(stream, client),
    close: () => server.close(),
  };
}

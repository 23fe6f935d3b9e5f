import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { ConnectReadyLine, ConnectionGrant, LocalConnection } from '../../wire/control-api.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { createControlClient } from './control-client.ts';
import { parseGatewayUrl } from './gateway-url.ts';
import { errorResponse, initialLocalPgAuthState, stepLocalPgAuth, type LocalPgAuthState } from './local-pg-auth.ts';
import { generateLocalTls, type LocalTlsMaterial } from './local-ca.ts';
import { localHttpConnection, localKubeConnection, serveLocalHttp } from './local-http-proxy.ts';
import { serveLocalMysql } from './local-mysql-proxy.ts';
import { createSshClientKey } from './ssh-client-key.ts';
import { openTunnel } from './tunnel-client.ts';

/** How the proxy gets its session: trade an OIDC token, or use a session another step already opened. */
export type LocalProxyCredential = { oidcToken: string; ttl?: string } | { sessionId: string; sessionToken: string };

/** How to start the local proxy; the same options serve the CLI and the Action bundle. */
export interface LocalProxyOptions {
  gateway: string;
  credential: LocalProxyCredential;
  /** Connections to serve, each on the given local port or a free one; empty serves every granted connection. */
  connections: { name: string; port?: number }[];
  /** Loopback address to listen on. */
  host?: string;
  /** Parent folder of the private folder holding the SSH key (default: the OS temp folder); removed on close. */
  keyDir?: string;
  log?: (line: string) => void;
}

/** A running local proxy: what it announced, when it stops, and how to stop it. */
export interface LocalProxy {
  ready: ConnectReadyLine;
  /** Resolves with the reason the proxy stopped (`expired`, `closed`). */
  done: Promise<string>;
  /** Stops listening and drops live connections; with `endSession` the session is deleted at the gateway first. */
  close(options?: { endSession?: boolean }): Promise<void>;
}

const LOCAL_USER = 'ci';
const MAX_STARTUP_BUFFER = 16 * 1024;

/**
 * `gatehouse connect` as a function: opens (or adopts) a session, listens on loopback per
 * connection and carries every accepted client over its own WebSocket tunnel. PostgreSQL
 * listeners first demand the per-session local password, so other users of a shared runner
 * cannot ride the session.
 */
export async function startLocalProxy(options: LocalProxyOptions): Promise<LocalProxy> {
  const gateway = parseGatewayUrl(options.gateway);
  const log = options.log ?? (() => {});
  const host = options.host ?? '127.0.0.1';
  const control = createControlClient(gateway);
  const wanted = options.connections.map((c) => c.name);

  let sessionId: string;
  let token: string;
  let expiresAt: string;
  let granted: ConnectionGrant[];
  if ('oidcToken' in options.credential) {
    const grant = await control.createSession({
      token: options.credential.oidcToken,
      ...(wanted.length ? { connections: wanted } : {}),
      ...(options.credential.ttl ? { ttl: options.credential.ttl } : {}),
    });
    ({ id: sessionId, token, expires_at: expiresAt, connections: granted } = grant);
  } else {
    ({ sessionId, sessionToken: token } = options.credential);
    const info = await control.getSession(sessionId, token);
    ({ expires_at: expiresAt, connections: granted } = info);
  }
  const served = wanted.length ? options.connections : granted.map((g) => ({ name: g.name, port: undefined }));
  const missing = served.filter((c) => !granted.some((g) => g.name === c.name)).map((c) => c.name);
  if (missing.length > 0) {
    if ('oidcToken' in options.credential) await control.deleteSession(sessionId, token).catch(() => undefined);
    throw new GatehouseError(
      'connection.not-granted',
      `the session does not grant ${missing.join(', ')} (granted: ${granted.map((g) => g.name).join(', ') || 'nothing'}); drop it from the command or ask for it in the identity rule`,
    );
  }

  const localPassword = randomBytes(18).toString('base64url');
  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  let resolveDone!: (reason: string) => void;
  const done = new Promise<string>((resolve) => (resolveDone = resolve));
  let closed = false;

  function serve(grant: ConnectionGrant, client: net.Socket): void {
    sockets.add(client);
    client.setNoDelay(true);
    client.on('error', () => client.destroy());
    client.once('close', () => sockets.delete(client));
    if (grant.type === 'postgres') return servePostgres(grant.name, client);
    if (grant.type === 'http' || grant.type === 'kubernetes') return serveHttp(grant.name, client);
    if (grant.type === 'mysql') {
      const open = () => openTunnel(gateway, grant.name, token);
      serveLocalMysql(client, open, localPassword, (line) => log(`${grant.name}: ${line}`)).catch((error: Error) => {
        log(`${grant.name}: ${error.message}`);
        client.destroy();
      });
      return;
    }
    client.pause();
    tunnelTo(grant.name, client, Buffer.alloc(0), (error) => {
      log(`${grant.name}: ${error.message}`);
      client.destroy();
    });
  }

  function servePostgres(connection: string, client: net.Socket): void {
    let state: LocalPgAuthState = initialLocalPgAuthState();
    let pending: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      if (pending.length + chunk.length > MAX_STARTUP_BUFFER) return void client.destroy();
      const step = stepLocalPgAuth(state, Buffer.concat([pending, chunk]), {
        password: localPassword,
        database: connection,
      });
      state = step.state;
      pending = step.rest;
      for (const reply of step.replies) client.write(reply);
      const outcome = step.outcome;
      if (outcome.kind === 'continue') return;
      client.off('data', onData);
      client.pause();
      if (outcome.kind === 'rejected') {
        log(`${connection}: refused a local client (${outcome.reason})`);
        return void client.end();
      }
      const first = outcome.kind === 'authenticated' ? Buffer.concat([outcome.startup, step.rest]) : outcome.request;
      tunnelTo(connection, client, first, (error) => {
        log(`${connection}: ${error.message}`);
        client.end(errorResponse('08006', error.message));
      });
    };
    client.on('data', onData);
  }

  function serveHttp(connection: string, client: net.Socket): void {
    serveLocalHttp(
      client,
      localPassword,
      (first) => tunnelTo(connection, client, first, (error) => fail(connection, client, error)),
      (reason) => log(`${connection}: refused a local client (${reason})`),
    );
  }

  function fail(connection: string, client: net.Socket, error: Error): void {
    log(`${connection}: ${error.message}`);
    const body = JSON.stringify({ error: { code: 'local.tunnel', message: error.message } });
    client.end(
      `HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }

  function tunnelTo(connection: string, client: net.Socket, first: Buffer, fail: (error: Error) => void): void {
    openTunnel(gateway, connection, token).then(
      (stream) => {
        if (client.destroyed) return void stream.destroy();
        relay(client, stream, first);
      },
      (error: Error) => fail(error),
    );
  }

  function relay(client: net.Socket, stream: Duplex, first: Buffer): void {
    stream.on('error', () => client.destroy());
    client.on('close', () => stream.destroy());
    stream.on('close', () => client.end());
    if (first.length > 0) stream.write(first);
    client.pipe(stream);
    stream.pipe(client);
    client.resume();
  }

  const locals: LocalConnection[] = [];
  let keyFolder: string | undefined;
  let localTls: LocalTlsMaterial | undefined;
  let ssh: { identityFile: string; hostKey: string } | undefined;
  try {
    if (served.some((c) => granted.find((g) => g.name === c.name)?.type === 'ssh')) {
      keyFolder = mkdtempSync(path.join(options.keyDir ?? os.tmpdir(), 'gatehouse-connect-'));
      const key = createSshClientKey(keyFolder);
      const registration = await control.registerSshKey(sessionId, token, key.publicKeyLine);
      ssh = { identityFile: key.privateKeyFile, hostKey: registration.host_key.trim() };
    }
    for (const wantedConnection of served) {
      const grant = granted.find((g) => g.name === wantedConnection.name)!;
      if (grant.type === 'kubernetes') localTls ??= generateLocalTls();
      const server =
        grant.type === 'kubernetes'
          ? tls.createServer({ cert: localTls!.cert, key: localTls!.key, ALPNProtocols: ['http/1.1'] }, (client) =>
              serve(grant, client),
            )
          : net.createServer((client) => serve(grant, client));
      servers.push(server);
      const port = await listen(server, host, wantedConnection.port ?? 0, grant.name);
      if (grant.type === 'http' || grant.type === 'kubernetes') {
        locals.push(
          grant.type === 'http'
            ? localHttpConnection(grant.name, host, port, localPassword)
            : localKubeConnection(grant.name, host, port, localPassword, localTls!.ca, grant.namespace),
        );
        continue;
      }
      locals.push(
        grant.type === 'mysql'
          ? {
              name: grant.name,
              type: grant.type,
              host,
              port,
              user: LOCAL_USER,
              password: localPassword,
              database: grant.name,
              url: `mysql://${LOCAL_USER}:${localPassword}@${host}:${port}/${encodeURIComponent(grant.name)}`,
            }
          : grant.type === 'postgres'
            ? {
                name: grant.name,
                type: grant.type,
                host,
                port,
                user: LOCAL_USER,
                password: localPassword,
                database: grant.name,
                url: `postgresql://${LOCAL_USER}:${localPassword}@${host}:${port}/${encodeURIComponent(grant.name)}`,
              }
            : {
                name: grant.name,
                type: grant.type,
                host,
                port,
                user: grant.name,
                identity_file: ssh!.identityFile,
                known_hosts: [`${grant.name} ${ssh!.hostKey}`],
              },
      );
    }
  } catch (error) {
    for (const server of servers) server.close();
    if (keyFolder) rmSync(keyFolder, { recursive: true, force: true });
    if ('oidcToken' in options.credential) await control.deleteSession(sessionId, token).catch(() => undefined);
    throw error;
  }

  async function close(reason: string, endSession: boolean): Promise<void> {
    if (closed) return;
    closed = true;
    clearTimeout(expiry);
    await Promise.all(
      servers
        .map((server) => new Promise<void>((resolve) => server.close(() => resolve())))
        .concat(
          Promise.resolve().then(() => {
            for (const socket of sockets) socket.destroy();
          }),
        ),
    );
    if (keyFolder) rmSync(keyFolder, { recursive: true, force: true });
    if (endSession) {
      await control
        .deleteSession(sessionId, token)
        .catch((error: Error) => log(`could not end session ${sessionId}: ${error.message}`));
    }
    resolveDone(reason);
  }

  const untilExpiry = Math.min(Math.max(0, Date.parse(expiresAt) - Date.now()), 2 ** 31 - 1);
  const expiry = setTimeout(() => {
    log(`session ${sessionId} expired; closing the local listeners`);
    void close('expired', false);
  }, untilExpiry);
  expiry.unref();

  return {
    ready: { session_id: sessionId, expires_at: expiresAt, connections: locals },
    done,
    close: (closeOptions = {}) => close('closed', closeOptions.endSession ?? false),
  };
}

function listen(server: net.Server, host: string, port: number, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new GatehouseError(
          'connect.listen',
          `cannot listen on ${host}:${port} for ${name} (${error.code ?? error.message}); pick another port with ${name}:<port>`,
        ),
      );
    });
    server.listen(port, host, () => resolve((server.address() as net.AddressInfo).port));
  });
}

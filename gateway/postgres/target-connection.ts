import { createRequire } from 'node:module';
import net from 'node:net';
import tls from 'node:tls';
import { serialize } from 'pg-protocol';
import type {
  AuthenticationMD5Password,
  BackendKeyDataMessage,
  BackendMessage,
  DatabaseError,
  ParameterStatusMessage,
} from 'pg-protocol/dist/messages.js';
import type { PostgresConnectionConfig } from '../config/config-types.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { decodeBackendMessage } from './backend-decoder.ts';
import { FrameSplitter } from './frame-splitter.ts';

const require = createRequire(import.meta.url);
// SCRAM and md5 come from node-postgres, so the gateway does not carry its own crypto for them.
const sasl = require('pg/lib/crypto/sasl.js');
const { postgresMd5PasswordHash } = require('pg/lib/crypto/utils.js');

/** An authenticated connection to the target server, ready for queries. */
export interface TargetConnection {
  socket: net.Socket | tls.TLSSocket;
  parameters: Map<string, string>;
  /** The target's key data, to forward CancelRequests. */
  backendKey: { pid: number; secret: number };
  host: string;
  port: number;
  /** Bytes the target sent after its first ReadyForQuery (normally none). */
  leftover: Buffer;
}

export interface TargetStartupOptions {
  /** Client parameters that passed the allowlist (application_name, client_encoding, ...). */
  clientParameters: Record<string, string>;
  connectTimeoutMs?: number;
}

/** The target's address and credentials, parsed from the connection URL. */
export function targetAddress(config: PostgresConnectionConfig): {
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
} {
  const url = new URL(config.url);
  return {
    host: decodeURIComponent(url.hostname) || '127.0.0.1',
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username) || 'postgres',
    database: decodeURIComponent(url.pathname.slice(1)) || 'postgres',
    password: config.password ?? (url.password ? decodeURIComponent(url.password) : undefined),
  };
}

/**
 * Opens and authenticates a connection to the target (TCP or TLS; SCRAM-SHA-256, md5,
 * cleartext or trust). Errors never include the target password.
 */
export async function connectToTarget(
  config: PostgresConnectionConfig,
  options: TargetStartupOptions,
): Promise<TargetConnection> {
  const address = targetAddress(config);
  const raw = await openSocket(address.host, address.port, options.connectTimeoutMs ?? 10_000);
  try {
    const socket = config.sslmode === 'disable' ? raw : await upgradeToTls(raw, config, address.host);
    return await authenticate(socket, config, address, options.clientParameters);
  } catch (error) {
    raw.destroy();
    throw error;
  }
}

function openSocket(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => socket.destroy(new Error('timeout')), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(
        new GatehouseError(
          'pg.target-unreachable',
          `the target database at ${host}:${port} cannot be reached (${(error as NodeJS.ErrnoException).code ?? error.message}); check that it is up and the connection's url`,
        ),
      );
    });
  });
}

async function upgradeToTls(
  socket: net.Socket,
  config: PostgresConnectionConfig,
  host: string,
): Promise<tls.TLSSocket> {
  const answer = await new Promise<Buffer>((resolve, reject) => {
    socket.once('data', resolve);
    socket.once('error', reject);
    socket.write(serialize.requestSsl());
  });
  if (answer[0] !== 0x53) {
    throw new GatehouseError(
      'pg.target-no-tls',
      `the target refused TLS but the connection has sslmode=${config.sslmode}; enable ssl on the server or set sslmode: disable`,
    );
  }
  const verify = config.sslmode === 'verify-full';
  return new Promise((resolve, reject) => {
    const secure = tls.connect({
      socket,
      servername: net.isIP(host) ? undefined : host,
      ca: config.ca,
      rejectUnauthorized: verify,
      checkServerIdentity: verify ? tls.checkServerIdentity : () => undefined,
    });
    secure.once('secureConnect', () => {
      secure.removeAllListeners('error');
      resolve(secure);
    });
    secure.once('error', (error) =>
      reject(
        new GatehouseError(
          'pg.target-tls',
          `TLS to the target failed: ${error.message}; check the connection's ca and sslmode`,
        ),
      ),
    );
  });
}

function authenticate(
  socket: net.Socket | tls.TLSSocket,
  config: PostgresConnectionConfig,
  address: ReturnType<typeof targetAddress>,
  clientParameters: Record<string, string>,
): Promise<TargetConnection> {
  return new Promise((resolve, reject) => {
    const splitter = new FrameSplitter({ startup: false, maxMessageBytes: 1 << 20 });
    const parameters = new Map<string, string>();
    let backendKey = { pid: 0, secret: 0 };
    let scram: any;
    const fail = (error: Error) => {
      socket.removeListener('data', onData);
      reject(error);
    };
    const needPassword = (): string => {
      if (address.password === undefined)
        throw new GatehouseError(
          'pg.target-auth',
          `the target asks for a password but connection '${config.name}' has none; set its password (\${env:NAME})`,
        );
      return address.password;
    };
    const onMessage = async (message: BackendMessage, rest: Buffer): Promise<boolean> => {
      switch (message.name) {
        case 'authenticationOk':
          return false;
        case 'authenticationCleartextPassword':
          socket.write(serialize.password(needPassword()));
          return false;
        case 'authenticationMD5Password': {
          const hash = await postgresMd5PasswordHash(
            address.user,
            needPassword(),
            (message as AuthenticationMD5Password).salt,
          );
          socket.write(serialize.password(hash));
          return false;
        }
        case 'authenticationSASL':
          scram = sasl.startSession((message as any).mechanisms, undefined);
          socket.write(serialize.sendSASLInitialResponseMessage(scram.mechanism, scram.response));
          return false;
        case 'authenticationSASLContinue':
          await sasl.continueSession(scram, needPassword(), (message as any).data, undefined);
          socket.write(serialize.sendSCRAMClientFinalMessage(scram.response));
          return false;
        case 'authenticationSASLFinal':
          sasl.finalizeSession(scram, (message as any).data);
          return false;
        case 'parameterStatus':
          parameters.set(
            (message as ParameterStatusMessage).parameterName,
            (message as ParameterStatusMessage).parameterValue,
          );
          return false;
        case 'backendKeyData':
          backendKey = {
            pid: (message as BackendKeyDataMessage).processID,
            secret: (message as BackendKeyDataMessage).secretKey,
          };
          return false;
        case 'notice':
          return false;
        case 'readyForQuery':
          socket.pause();
          socket.removeListener('data', onData);
          socket.removeListener('close', onClose);
          resolve({ socket, parameters, backendKey, host: address.host, port: address.port, leftover: rest });
          return true;
        case 'error': {
          const error = message as DatabaseError;
          const authFailure = error.code === '28P01' || error.code === '28000';
          throw new GatehouseError(
            authFailure ? 'pg.target-auth' : 'pg.target-error',
            authFailure
              ? `the target rejected the gateway's credentials for connection '${config.name}' (${error.code}); check the connection's user and password`
              : `the target refused the connection: ${error.message} (${error.code})`,
            authFailure ? undefined : { cause: error },
          );
        }
        default:
          throw new GatehouseError('pg.target-protocol', `unexpected '${message.name}' from the target during startup`);
      }
    };
    let chain = Promise.resolve();
    const onData = (chunk: Buffer) => {
      let frames;
      try {
        frames = splitter.push(chunk);
      } catch (error) {
        return fail(error as Error);
      }
      chain = chain
        .then(async () => {
          for (let i = 0; i < frames.length; i++) {
            const done = await onMessage(
              decodeBackendMessage(frames[i]!.bytes),
              Buffer.concat([...frames.slice(i + 1).map((f) => f.bytes), splitter.takeRemainder()]),
            );
            if (done) return;
          }
        })
        .catch((error: unknown) =>
          fail(
            error instanceof GatehouseError
              ? error
              : new GatehouseError(
                  'pg.target-auth',
                  `authentication to the target failed: ${(error as Error).message}`,
                ),
          ),
        );
    };
    const onClose = () =>
      fail(new GatehouseError('pg.target-closed', 'the target closed the connection during startup'));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(serialize.startup({ ...clientParameters, user: address.user, database: address.database }));
  });
}

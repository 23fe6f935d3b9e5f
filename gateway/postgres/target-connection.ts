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
import { FrameSplitter, type Frame } from './frame-splitter.ts';

const require = createRequire(import.meta.url);
// SCRAM and md5 come from node-postgres, so the gateway does not carry its own crypto for them.
const sasl = require('pg/lib/crypto/sasl.js') as SaslClient;
const { postgresMd5PasswordHash } = require('pg/lib/crypto/utils.js') as {
  postgresMd5PasswordHash(user: string, password: string, salt: Buffer): Promise<string>;
};

/** The SCRAM client state node-postgres keeps between the SASL messages. */
interface ScramSession {
  mechanism: string;
  response: string;
}

/** The part of node-postgres's SASL client the gateway uses (the module has no types). */
interface SaslClient {
  startSession(mechanisms: readonly string[], stream: undefined): ScramSession;
  continueSession(session: ScramSession, password: string, serverData: string, stream: undefined): Promise<void>;
  finalizeSession(session: ScramSession, serverData: string): void;
}

/** The SASL messages of pg-protocol, with the fields the exchange reads. */
type SaslMessage = BackendMessage & { mechanisms?: string[]; data?: string };

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

/** What the startup exchange collects from the target before its first ReadyForQuery. */
interface StartupExchange {
  socket: net.Socket | tls.TLSSocket;
  config: PostgresConnectionConfig;
  address: ReturnType<typeof targetAddress>;
  parameters: Map<string, string>;
  backendKey: { pid: number; secret: number };
  scram?: ScramSession;
}

function needPassword(exchange: StartupExchange): string {
  if (exchange.address.password === undefined)
    throw new GatehouseError(
      'pg.target-auth',
      `the target asks for a password but connection '${exchange.config.name}' has none; set its password (\${env:NAME})`,
    );
  return exchange.address.password;
}

/** Answers one authentication request of the target; false when the message is not one. */
async function answerAuthentication(exchange: StartupExchange, message: BackendMessage): Promise<boolean> {
  const { socket } = exchange;
  const saslMessage = message as SaslMessage;
  switch (message.name) {
    case 'authenticationOk':
      return true;
    case 'authenticationCleartextPassword':
      socket.write(serialize.password(needPassword(exchange)));
      return true;
    case 'authenticationMD5Password': {
      const salt = (message as AuthenticationMD5Password).salt;
      socket.write(
        serialize.password(await postgresMd5PasswordHash(exchange.address.user, needPassword(exchange), salt)),
      );
      return true;
    }
    case 'authenticationSASL':
      exchange.scram = sasl.startSession(saslMessage.mechanisms ?? [], undefined);
      socket.write(serialize.sendSASLInitialResponseMessage(exchange.scram.mechanism, exchange.scram.response));
      return true;
    case 'authenticationSASLContinue':
      await sasl.continueSession(scramOf(exchange), needPassword(exchange), saslMessage.data ?? '', undefined);
      socket.write(serialize.sendSCRAMClientFinalMessage(scramOf(exchange).response));
      return true;
    case 'authenticationSASLFinal':
      sasl.finalizeSession(scramOf(exchange), saslMessage.data ?? '');
      return true;
    default:
      return false;
  }
}

function scramOf(exchange: StartupExchange): ScramSession {
  if (!exchange.scram)
    throw new GatehouseError('pg.target-protocol', 'the target continued a SASL exchange it never started');
  return exchange.scram;
}

/** The target's refusal of the startup, as the operator can act on it. */
function startupRefusal(config: PostgresConnectionConfig, error: DatabaseError): GatehouseError {
  const authFailure = error.code === '28P01' || error.code === '28000';
  return new GatehouseError(
    authFailure ? 'pg.target-auth' : 'pg.target-error',
    authFailure
      ? `the target rejected the gateway's credentials for connection '${config.name}' (${error.code}); check the connection's user and password`
      : `the target refused the connection: ${error.message} (${error.code})`,
    authFailure ? undefined : { cause: error },
  );
}

/** Handles one startup message; true at ReadyForQuery, when the connection is ready. */
async function onStartupMessage(exchange: StartupExchange, message: BackendMessage): Promise<boolean> {
  if (await answerAuthentication(exchange, message)) return false;
  switch (message.name) {
    case 'parameterStatus': {
      const { parameterName, parameterValue } = message as ParameterStatusMessage;
      exchange.parameters.set(parameterName, parameterValue);
      return false;
    }
    case 'backendKeyData': {
      const key = message as BackendKeyDataMessage;
      exchange.backendKey = { pid: key.processID, secret: key.secretKey };
      return false;
    }
    case 'notice':
      return false;
    case 'readyForQuery':
      return true;
    case 'error':
      throw startupRefusal(exchange.config, message as DatabaseError);
    default:
      throw new GatehouseError('pg.target-protocol', `unexpected '${message.name}' from the target during startup`);
  }
}

function asStartupError(error: unknown): GatehouseError {
  return error instanceof GatehouseError
    ? error
    : new GatehouseError('pg.target-auth', `authentication to the target failed: ${(error as Error).message}`);
}

function authenticate(
  socket: net.Socket | tls.TLSSocket,
  config: PostgresConnectionConfig,
  address: ReturnType<typeof targetAddress>,
  clientParameters: Record<string, string>,
): Promise<TargetConnection> {
  return new Promise((resolve, reject) => {
    const splitter = new FrameSplitter({ startup: false, maxMessageBytes: 1 << 20 });
    const exchange: StartupExchange = {
      socket,
      config,
      address,
      parameters: new Map(),
      backendKey: { pid: 0, secret: 0 },
    };
    const fail = (error: Error) => {
      socket.removeListener('data', onData);
      reject(error);
    };
    const ready = (leftover: Buffer) => {
      socket.pause();
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      const { parameters, backendKey } = exchange;
      resolve({ socket, parameters, backendKey, host: address.host, port: address.port, leftover });
    };
    let chain = Promise.resolve();
    const onData = (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = splitter.push(chunk);
      } catch (error) {
        return fail(error as Error);
      }
      chain = chain
        .then(async () => {
          for (let i = 0; i < frames.length; i++) {
            if (!(await onStartupMessage(exchange, decodeBackendMessage(frames[i]!.bytes)))) continue;
            return ready(Buffer.concat([...frames.slice(i + 1).map((f) => f.bytes), splitter.takeRemainder()]));
          }
        })
        .catch((error: unknown) => fail(asStartupError(error)));
    };
    const onClose = () =>
      fail(new GatehouseError('pg.target-closed', 'the target closed the connection during startup'));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(serialize.startup({ ...clientParameters, user: address.user, database: address.database }));
  });
}

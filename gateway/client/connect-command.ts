import { spawn } from 'node:child_process';
import { appendFileSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parseCommandArgs } from '../commands/command-args.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { startLocalProxy, type LocalProxyCredential } from './local-proxy.ts';

const USAGE =
  'usage: gatehouse connect --gateway URL (--token JWT | --token-file F | --token-env NAME | --session-id ID --session-token-env NAME) [--ttl 15m] [--detach --pidfile F --log F] <connection[:port]>...';
const DETACHED_TOKEN_ENV = 'GATEHOUSE_CONNECT_TOKEN';
const READY_TIMEOUT_MS = 30_000;

/** Parsed `gatehouse connect` arguments. */
export interface ConnectArgs {
  gateway: string;
  credential: LocalProxyCredential;
  connections: { name: string; port?: number }[];
  detach: boolean;
  pidfile?: string;
  log?: string;
}

/** Reads the command line (and the token source it names); throws a GatehouseError with the usage on mistakes. */
export function parseConnectArgs(argv: string[], env: NodeJS.ProcessEnv): ConnectArgs {
  const { values, positionals } = parseCommandArgs(
    {
      args: argv,
      allowPositionals: true,
      options: {
        gateway: { type: 'string' },
        token: { type: 'string' },
        'token-file': { type: 'string' },
        'token-env': { type: 'string' },
        'session-id': { type: 'string' },
        'session-token-env': { type: 'string' },
        ttl: { type: 'string' },
        detach: { type: 'boolean', default: false },
        pidfile: { type: 'string' },
        log: { type: 'string' },
      },
    },
    USAGE,
    'connect.usage',
  );
  if (!values.gateway) throw new GatehouseError('connect.usage', `--gateway is required\n${USAGE}`);
  const sources = [values.token, values['token-file'], values['token-env'], values['session-id']].filter(
    (v) => v !== undefined,
  );
  if (sources.length !== 1)
    throw new GatehouseError(
      'connect.usage',
      `give exactly one of --token, --token-file, --token-env or --session-id\n${USAGE}`,
    );
  let credential: LocalProxyCredential;
  if (values['session-id'] !== undefined) {
    const name = values['session-token-env'];
    const sessionToken = name ? env[name] : undefined;
    if (!sessionToken)
      throw new GatehouseError(
        'connect.usage',
        '--session-id needs --session-token-env NAME naming a set environment variable with the session token',
      );
    credential = { sessionId: values['session-id'], sessionToken };
  } else {
    credential = { oidcToken: readOidcToken(values, env), ...(values.ttl ? { ttl: values.ttl } : {}) };
  }
  const connections = positionals.map(parseConnectionArg);
  if (values.detach && !values.pidfile)
    throw new GatehouseError('connect.usage', `--detach needs --pidfile F so the proxy can be stopped later\n${USAGE}`);
  return {
    gateway: values.gateway,
    credential,
    connections,
    detach: values.detach ?? false,
    pidfile: values.pidfile,
    log: values.log,
  };
}

function readOidcToken(
  values: { token?: string; 'token-file'?: string; 'token-env'?: string },
  env: NodeJS.ProcessEnv,
): string {
  if (values.token !== undefined) return values.token.trim();
  if (values['token-env'] !== undefined) {
    const token = env[values['token-env']];
    if (!token)
      throw new GatehouseError(
        'connect.token',
        `environment variable ${values['token-env']} is empty or not set; export the OIDC token in it`,
      );
    return token.trim();
  }
  try {
    return readFileSync(values['token-file']!, 'utf8').trim();
  } catch {
    throw new GatehouseError(
      'connect.token',
      `cannot read --token-file ${values['token-file']}; write the OIDC token to that file first`,
    );
  }
}

function parseConnectionArg(text: string): { name: string; port?: number } {
  const match = /^([A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(text);
  const port = match?.[2] === undefined ? undefined : Number(match[2]);
  if (!match || (port !== undefined && (port < 1 || port > 65535))) {
    throw new GatehouseError(
      'connect.usage',
      `'${text}' is not a connection; write it as name or name:port (port 1-65535)`,
    );
  }
  return { name: match[1]!, port };
}

/** `gatehouse connect`: runs the local proxy until SIGTERM/SIGINT (which end the session) or session expiry. */
export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const args = parseConnectArgs(argv, process.env);
  if (args.detach) return detach(argv, args);
  const log = (line: string) => {
    const text = `${new Date().toISOString()} gatehouse connect: ${line}\n`;
    if (args.log) appendFileSync(args.log, text, { mode: 0o600 });
    else process.stderr.write(text);
  };
  const proxy = await startLocalProxy({
    gateway: args.gateway,
    credential: args.credential,
    connections: args.connections,
    log,
  });
  if (args.pidfile) writeFileSync(args.pidfile, `${process.pid}\n`, { mode: 0o600 });
  process.stdout.write(`${JSON.stringify(proxy.ready)}\n`);
  log(
    `session ${proxy.ready.session_id} ready until ${proxy.ready.expires_at}: ${proxy.ready.connections.map((c) => `${c.name}@${c.host}:${c.port}`).join(', ')}`,
  );
  const stop = (signal: string) => {
    log(`${signal}: ending session ${proxy.ready.session_id}`);
    void proxy.close({ endSession: true });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  const reason = await proxy.done;
  if (args.pidfile) rmSync(args.pidfile, { force: true });
  log(`stopped (${reason})`);
  return 0;
}

/** Re-runs this command detached (own process group, no terminal), waits for its ready line and prints it. */
async function detach(argv: string[], args: ConnectArgs): Promise<number> {
  const prefix = process.argv.slice(1, process.argv.length - argv.length);
  const childArgs = argv.filter((a) => a !== '--detach');
  const env = { ...process.env };
  if ('oidcToken' in args.credential) {
    env[DETACHED_TOKEN_ENV] = args.credential.oidcToken;
    stripCredentialArgs(childArgs);
    childArgs.unshift('--token-env', DETACHED_TOKEN_ENV);
  }
  const logFd = openSync(args.log ?? '/dev/null', 'a', 0o600);
  const child = spawn(process.execPath, [...process.execArgv, ...prefix, ...childArgs], {
    detached: true,
    stdio: ['ignore', 'pipe', logFd],
    env,
  });
  closeSync(logFd);
  const line = await new Promise<string | null>((resolve) => {
    let out = '';
    const timer = setTimeout(() => resolve(null), READY_TIMEOUT_MS);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const newline = out.indexOf('\n');
      if (newline >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, newline));
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(null);
    });
  });
  child.stdout!.destroy();
  child.unref();
  if (line === null) {
    if (child.exitCode === null) child.kill('SIGTERM');
    throw new GatehouseError(
      'connect.detach',
      `the detached proxy did not become ready${args.log ? `; see ${args.log}` : '; rerun with --log F to see why'}`,
    );
  }
  process.stdout.write(`${line}\n`);
  return 0;
}

function stripCredentialArgs(list: string[]): void {
  for (const flag of ['--token', '--token-file', '--token-env']) {
    for (let i = list.indexOf(flag); i >= 0; i = list.indexOf(flag)) list.splice(i, 2);
    for (
      let i = list.findIndex((a) => a.startsWith(`${flag}=`));
      i >= 0;
      i = list.findIndex((a) => a.startsWith(`${flag}=`))
    )
      list.splice(i, 1);
  }
}

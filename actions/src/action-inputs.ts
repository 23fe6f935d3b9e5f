import { GatehouseError } from '../../gateway/errors/gatehouse-error.ts';

/** One connection the job asks for, optionally pinned to a local port (`app-db:5432`). */
export interface RequestedConnection {
  name: string;
  port?: number;
}

/**
 * The action's inputs after validation. Parsed once so the rest of the step works with typed
 * values and a bad input fails before any token is requested.
 */
export interface ActionInputs {
  gateway: URL;
  connections: RequestedConnection[];
  audience: string;
  ttl?: string;
  exportEnv: boolean;
}

/** Raw input values, keyed by the names used in action.yml. */
export type InputReader = (name: string) => string;

const CONNECTION_ITEM = /^([A-Za-z0-9][A-Za-z0-9._-]*)(?::(\d{1,5}))?$/;
const TTL = /^\d{1,7}[smhd]?$/;

/**
 * Reads an input the way the runner passes it (`INPUT_<NAME>` upper-cased), also accepting the
 * underscore spelling because composite steps cannot portably export a variable with a dash.
 */
export function envInputReader(env: NodeJS.ProcessEnv): InputReader {
  return (name) => {
    const upper = name.toUpperCase();
    const value = env[`INPUT_${upper.replace(/ /g, '_')}`] ?? env[`INPUT_${upper.replace(/[ -]/g, '_')}`] ?? '';
    return value.trim();
  };
}

export function parseActionInputs(read: InputReader): ActionInputs {
  const gatewayText = read('gateway');
  if (!gatewayText) {
    throw new GatehouseError(
      'input-missing',
      "Input 'gateway' is required: set `with: gateway: https://gatehouse.example.com`.",
    );
  }
  const gateway = parseGatewayUrl(gatewayText);
  const ttl = read('ttl') || undefined;
  if (ttl !== undefined && !TTL.test(ttl)) {
    throw new GatehouseError(
      'input-invalid',
      `Input 'ttl' must be a duration like 15m, 900s or 1h (the gateway caps it at the rule's max_ttl), got '${ttl}'.`,
    );
  }
  return {
    gateway,
    connections: parseConnectionList(read('connections')),
    audience: read('audience') || gateway.href.replace(/\/$/, ''),
    ttl,
    exportEnv: parseBoolean('export-env', read('export-env'), true),
  };
}

/** Accepts newline- or comma-separated `name` or `name:port` items; duplicates are refused. */
export function parseConnectionList(text: string): RequestedConnection[] {
  const items = text
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter((item) => item !== '' && !item.startsWith('#'));
  const seen = new Set<string>();
  const ports = new Set<number>();
  return items.map((item) => {
    const match = CONNECTION_ITEM.exec(item);
    if (!match) {
      throw new GatehouseError(
        'input-invalid',
        `Input 'connections' has '${item}': write one connection per line as 'name' or 'name:port' (for example 'app-db:5432').`,
      );
    }
    const name = match[1]!;
    const port = match[2] === undefined ? undefined : Number(match[2]);
    if (port !== undefined && (port < 1 || port > 65535)) {
      throw new GatehouseError(
        'input-invalid',
        `Input 'connections' gives '${name}' port ${port}: use a port between 1 and 65535.`,
      );
    }
    if (seen.has(name)) {
      throw new GatehouseError(
        'input-invalid',
        `Input 'connections' lists '${name}' twice: list each connection once.`,
      );
    }
    if (port !== undefined && ports.has(port)) {
      throw new GatehouseError(
        'input-invalid',
        `Input 'connections' uses local port ${port} twice: give each connection its own port.`,
      );
    }
    seen.add(name);
    if (port !== undefined) ports.add(port);
    return port === undefined ? { name } : { name, port };
  });
}

function parseGatewayUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new GatehouseError(
      'input-invalid',
      `Input 'gateway' is not a URL ('${text}'): give the gateway's base URL, e.g. https://gatehouse.example.com.`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new GatehouseError('input-invalid', `Input 'gateway' must be an http(s) URL, got '${url.protocol}'.`);
  }
  if (url.username || url.password) {
    throw new GatehouseError(
      'input-invalid',
      "Input 'gateway' must not carry credentials: the action authenticates with the job's OIDC token.",
    );
  }
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

function parseBoolean(name: string, text: string, fallback: boolean): boolean {
  if (text === '') return fallback;
  if (/^(true|yes|1|on)$/i.test(text)) return true;
  if (/^(false|no|0|off)$/i.test(text)) return false;
  throw new GatehouseError('input-invalid', `Input '${name}' must be true or false, got '${text}'.`);
}

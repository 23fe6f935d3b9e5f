import { describe, expect, it } from 'vitest';
import {
  buildClientEnvironment,
  parseReadyLine,
  upperSnake,
  type LocalConnection,
} from '../../../actions/src/client-env.ts';

const pg = (name: string, port: number, password = `pw-${name}`): LocalConnection => ({
  name,
  type: 'postgres',
  host: '127.0.0.1',
  port,
  user: 'ci',
  password,
  database: name,
  url: `postgresql://ci:${password}@127.0.0.1:${port}/${name}`,
});

describe('client environment', () => {
  it('exports <NAME>_URL and <NAME>_TOKEN for an HTTP connection, and masks only the token', () => {
    const api: LocalConnection = {
      name: 'billing-api',
      type: 'http',
      host: '127.0.0.1',
      port: 7000,
      url: 'http://127.0.0.1:7000',
      password: 'local-pw',
    };
    const { env, outputs, secrets } = buildClientEnvironment({ session_id: 's1', expires_at: 'x', connections: [api] });
    expect(env).toEqual({ BILLING_API_URL: 'http://127.0.0.1:7000', BILLING_API_TOKEN: 'local-pw' });
    expect(outputs.url).toBe('http://127.0.0.1:7000');
    expect(secrets).toEqual(['local-pw']);
  });

  it('upper-snakes connection names into shell variable prefixes', () => {
    expect(upperSnake('app-db')).toBe('APP_DB');
    expect(upperSnake('eu.reporting-db')).toBe('EU_REPORTING_DB');
  });

  it('exports DATABASE_URL and the PG* variables for a single PostgreSQL connection', () => {
    const { env, outputs, secrets } = buildClientEnvironment(
      { session_id: 's1', expires_at: 'x', connections: [pg('app-db', 6000)] },
      'gwh_token',
    );
    expect(env).toEqual({
      APP_DB_DATABASE_URL: 'postgresql://ci:pw-app-db@127.0.0.1:6000/app-db',
      DATABASE_URL: 'postgresql://ci:pw-app-db@127.0.0.1:6000/app-db',
      PGHOST: '127.0.0.1',
      PGPORT: '6000',
      PGUSER: 'ci',
      PGPASSWORD: 'pw-app-db',
      PGDATABASE: 'app-db',
    });
    expect(outputs).toMatchObject({ 'session-id': 's1', url: env.DATABASE_URL, host: '127.0.0.1', port: '6000' });
    expect(secrets.sort()).toEqual(['gwh_token', 'postgresql://ci:pw-app-db@127.0.0.1:6000/app-db', 'pw-app-db']);
  });

  it('keeps an ssh connection out of the PostgreSQL variables but in the outputs', () => {
    const ssh: LocalConnection = { name: 'deploy-host', type: 'ssh', host: '127.0.0.1', port: 2222 };
    const { env, outputs } = buildClientEnvironment({
      session_id: 's',
      expires_at: 'x',
      connections: [ssh, pg('app-db', 6001)],
    });
    expect(env.DATABASE_URL).toContain(':6001/');
    expect(outputs.port).toBe('2222');
    expect(JSON.parse(outputs.connections!)).toHaveLength(2);
  });

  it('exports MYSQL_* variables the mysql clients read, and <NAME>_MYSQL_URL, for a MySQL connection', () => {
    const my: LocalConnection = {
      name: 'orders-db',
      type: 'mysql',
      host: '127.0.0.1',
      port: 3307,
      user: 'ci',
      password: 'lpw',
      database: 'orders-db',
    };
    const { env, secrets } = buildClientEnvironment({
      session_id: 's',
      expires_at: 'x',
      connections: [my, pg('app-db', 6002)],
    });
    expect(env).toMatchObject({
      ORDERS_DB_MYSQL_URL: 'mysql://ci:lpw@127.0.0.1:3307/orders-db',
      MYSQL_URL: 'mysql://ci:lpw@127.0.0.1:3307/orders-db',
      MYSQL_HOST: '127.0.0.1',
      MYSQL_TCP_PORT: '3307',
      MYSQL_USER: 'ci',
      MYSQL_PWD: 'lpw',
      MYSQL_DATABASE: 'orders-db',
    });
    expect(env.DATABASE_URL).toContain(':6002/');
    expect(secrets).toContain('mysql://ci:lpw@127.0.0.1:3307/orders-db');
  });

  it('refuses two connections whose variable names would collide', () => {
    expect(() =>
      buildClientEnvironment({ session_id: 's', expires_at: 'x', connections: [pg('app-db', 1), pg('app.db', 2)] }),
    ).toThrow(/'app-db' and 'app.db' would both export APP_DB_\*/);
  });

  it('builds a URL with an encoded password when the proxy gives none', () => {
    const { env, secrets } = buildClientEnvironment({
      session_id: 's',
      expires_at: 'x',
      connections: [{ ...pg('app-db', 7000, 'p@ss/word'), url: undefined }],
    });
    expect(env.DATABASE_URL).toBe('postgresql://ci:p%40ss%2Fword@127.0.0.1:7000/app-db');
    expect(secrets).toContain(env.DATABASE_URL);
  });

  it('rejects a ready line that is not JSON or lacks the connection fields', () => {
    expect(() => parseReadyLine('listening')).toThrow(/not JSON/);
    expect(() => parseReadyLine('{"session_id":"s","expires_at":"x","connections":[{"name":"a"}]}')).toThrow(
      /lacks session_id/,
    );
  });
});

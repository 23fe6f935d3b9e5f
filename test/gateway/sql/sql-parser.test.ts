import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendMessages } from '../../../gateway/postgres/backend-messages.ts';
import { analyzeSql, loadSqlParser } from '../../../gateway/sql/analyze-sql.ts';
import { parserForServer, sqlParser } from '../../../gateway/sql/sql-parser.ts';
import { startAttackBed, type AttackBed } from '../../support/attack-bed.ts';
import { startTestGateway, type GatewayUnderTest } from '../../support/gateway-harness.ts';
import { findLeak, maskingCorpus } from '../masking/masking-fixture.ts';

/** Guardrail class 5: statements are parsed with the grammar of the target's major version. */
beforeAll(async () => {
  await loadSqlParser();
});

describe('the grammar of the target version', () => {
  it.each([
    ['15.20 (Debian 15.20-0+deb12u1)', 15],
    ['16.4', 16],
    ['17beta2', 17],
    ['18.1', 18],
  ])('parses for server_version %j with the grammar of PostgreSQL %i', (version, major) => {
    const parser = parserForServer(version);
    expect('problem' in parser ? parser.problem : parser.major).toBe(major);
  });

  it.each(['14.12', '9.6.24', '19devel', 'CockroachDB 23.1', undefined])('refuses to analyse SQL for %j', (version) => {
    const parser = parserForServer(version);
    expect('problem' in parser && parser.problem).toMatch(/has those of PostgreSQL 15, 16, 17, 18/);
  });

  it('reads json_scalar(3) as the function call PostgreSQL 15 makes of it, and 18 as an expression', () => {
    expect(analyzeSql('SELECT json_scalar(3)', { parser: sqlParser(15) })[0]!.functions).toEqual(['json_scalar']);
    expect(analyzeSql('SELECT json_scalar(3)', { parser: sqlParser(18) })[0]!.functions).toEqual([]);
  });
});

describe('statements on a PostgreSQL 15 target', () => {
  const { sensitive } = maskingCorpus();
  let bed: AttackBed;
  beforeAll(async () => {
    bed = await startAttackBed({
      policies: ['policies/default.yaml', 'policies/examples/masking.yaml'],
      setup: `CREATE TABLE stash (v text);
        CREATE FUNCTION json_scalar(v int) RETURNS int LANGUAGE sql AS $$ DELETE FROM orders RETURNING 1 $$;
        CREATE FUNCTION json_scalar(v text) RETURNS text LANGUAGE sql AS $$ INSERT INTO stash VALUES (v) RETURNING 'x' $$;`,
    });
  });
  afterAll(async () => {
    await bed?.close();
  });

  it('judges json_scalar(3) by the function PostgreSQL 15 calls, and the database is unchanged', async () => {
    // The shared test server is PostgreSQL 15, where json_scalar is no keyword.
    expect((await bed.direct('SHOW server_version_num')).rows[0].server_version_num).toMatch(/^15/);
    const before = await bed.fingerprint();
    const outcome = await bed.psql('SELECT json_scalar(3)');
    expect(outcome.ok, outcome.output).toBe(false);
    expect(outcome.output).toMatch(/no-unbounded-writes/);
    expect(await bed.fingerprint()).toBe(before);
    const masked = await bed.psql('SELECT json_scalar(api_token) FROM customers');
    expect(masked.ok).toBe(false);
    expect(findLeak(masked.output, sensitive)).toBeNull();
    expect(Number((await bed.direct('SELECT count(*) AS n FROM stash')).rows[0].n)).toBe(0);
  });
});

describe('a target of an unsupported version', () => {
  let fake: net.Server;
  let gateway: GatewayUnderTest;
  beforeAll(async () => {
    // A stand-in server that completes startup as PostgreSQL 14 would, then answers nothing.
    fake = net.createServer((socket) => {
      socket.once('data', () => {
        socket.write(
          Buffer.concat([
            backendMessages.authenticationOk(),
            backendMessages.parameterStatus('server_version', '14.12'),
            backendMessages.parameterStatus('standard_conforming_strings', 'on'),
            backendMessages.parameterStatus('client_encoding', 'UTF8'),
            backendMessages.backendKeyData(1, 2),
            backendMessages.readyForQuery('I'),
          ]),
        );
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    const port = (fake.address() as net.AddressInfo).port;
    gateway = await startTestGateway(
      {
        host: '127.0.0.1',
        port,
        database: 'old',
        user: 'postgres',
        url: `postgres://postgres@127.0.0.1:${port}/old`,
        real: false,
        drop: async () => undefined,
      },
      { policies: path.resolve('policies') },
    );
  });
  afterAll(async () => {
    await gateway?.close();
    fake?.close();
  });

  it('refuses the connection, saying which versions the gateway can analyse', async () => {
    const client = new pg.Client({ connectionString: gateway.url });
    client.on('error', () => undefined);
    const failed = await client.connect().then(
      () => null,
      (e: Error) => e.message,
    );
    await client.end().catch(() => undefined);
    expect(failed).toMatch(
      /server_version 14\.12; the gateway parses SQL with the grammar of the target's major version/,
    );
  });
});

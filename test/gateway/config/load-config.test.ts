import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../../gateway/config/load-config.ts';

const minimal = 'connections:\n  app-db:\n    type: postgres\n    url: postgres://deployer@db:5432/app\n';

describe('loading gatehouse.yaml', () => {
  it('applies every default in one place, connection defaults included', () => {
    const config = parseConfig(minimal, '/etc/gatehouse/gatehouse.yaml');
    expect(config.listen).toEqual({ http: '127.0.0.1:8080', postgres: '127.0.0.1:6432', ssh: undefined });
    expect(config.store).toBe('/etc/gatehouse/.gatehouse');
    expect(config.policiesDir).toBe('/etc/gatehouse/policies');
    expect(config.issuers).toEqual([
      {
        issuer: 'https://token.actions.githubusercontent.com',
        audience: undefined,
        jwksUri: undefined,
        jwksFile: undefined,
      },
    ]);
    expect(config.connections['app-db']).toMatchObject({
      type: 'postgres',
      name: 'app-db',
      sslmode: 'disable',
      audit: 'required',
    });
    expect(config.limits.maxMessageBytes).toBe(16 * 1024 * 1024);
  });

  it('keeps memory:// and postgres:// stores as given and resolves only a data directory against the config folder', () => {
    const store = (location: string) =>
      parseConfig(`store: "${location}"\n${minimal}`, '/etc/gatehouse/gatehouse.yaml').store;
    expect(store('memory://demo')).toBe('memory://demo');
    expect(store('postgresql://gw@db/gatehouse')).toBe('postgresql://gw@db/gatehouse');
    expect(store('data')).toBe('/etc/gatehouse/data');
  });

  it("puts the audit journal and signing key in the gateway's data directory, per store kind, with write durability", () => {
    const audit = (store: string, extra = '') =>
      parseConfig(`store: "${store}"\n${extra}${minimal}`, '/etc/gatehouse/gatehouse.yaml').audit;
    expect(audit('data')).toMatchObject({
      durability: 'write',
      journal: { dir: '/etc/gatehouse/data/audit-journal', maxBytes: 64 * 1024 * 1024 },
      signingKeyFile: '/etc/gatehouse/data/audit-signing-key.pem',
    });
    expect(audit('postgres://gw@db/gatehouse')).toMatchObject({
      journal: { dir: '/etc/gatehouse/.gatehouse-audit/audit-journal' },
      signingKeyFile: '/etc/gatehouse/.gatehouse-audit/audit-signing-key.pem',
    });
    expect(audit('memory://')).toMatchObject({ journal: { dir: null }, signingKeyFile: null });
    const set =
      'audit: { durability: fsync, journal: { dir: /var/lib/gh/journal, max_bytes: 1048576 }, signing_key_file: keys/audit.pem }\n';
    expect(audit('postgres://gw@db/gatehouse', set)).toMatchObject({
      durability: 'fsync',
      journal: { dir: '/var/lib/gh/journal', maxBytes: 1048576 },
      signingKeyFile: '/etc/gatehouse/keys/audit.pem',
    });
    expect(() => audit('data', 'audit: { durability: never }\n')).toThrow(/\/audit\/durability/);
  });

  it('reads secrets from the environment and from files relative to the config', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-config-'));
    writeFileSync(path.join(dir, 'pw.txt'), 's3cret-from-file\n');
    writeFileSync(
      path.join(dir, 'gatehouse.yaml'),
      `${minimal}    password: \${file:pw.txt}\n  other:\n    type: postgres\n    url: postgres://x@y/z\n    password: \${env:GATEHOUSE_TEST_PW}\n`,
    );
    process.env.GATEHOUSE_TEST_PW = 'from-env';
    const config = loadConfig(path.join(dir, 'gatehouse.yaml'));
    expect(config.connections['app-db']).toMatchObject({ password: 's3cret-from-file' });
    expect(config.connections.other).toMatchObject({ password: 'from-env' });
  });

  it('names the key path and the fix for a missing environment variable, never its neighbours', () => {
    delete process.env.GATEHOUSE_TEST_MISSING;
    expect(() => parseConfig(`${minimal}    password: \${env:GATEHOUSE_TEST_MISSING}\n`, 'g.yaml')).toThrow(
      /\/connections\/app-db\/password: environment variable GATEHOUSE_TEST_MISSING is not set; export it/,
    );
  });

  it('points at the line of an unknown key and says what to do', () => {
    expect(() => parseConfig(`${minimal}lisen: {}\n`, 'g.yaml')).toThrow(
      "g.yaml:5: / has unknown key 'lisen'; remove it or check its spelling",
    );
  });

  it('explains the quoting a ${...} value needs inside a flow mapping', () => {
    expect(() => parseConfig(`${minimal}static_tokens:\n  - { name: ci, token: \${env:X} }\n`, 'g.yaml')).toThrow(
      /g\.yaml:6: not valid YAML: .*quote a value that starts with/,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { envInputReader, parseActionInputs, parseConnectionList } from '../../../actions/src/action-inputs.ts';

const read = (values: Record<string, string>) =>
  envInputReader(Object.fromEntries(Object.entries(values).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])));

describe('action inputs', () => {
  it('defaults the audience to the gateway URL without a trailing slash and exports env by default', () => {
    const inputs = parseActionInputs(read({ gateway: 'https://gatehouse.example.com' }));
    expect(inputs.audience).toBe('https://gatehouse.example.com');
    expect(inputs.exportEnv).toBe(true);
    expect(inputs.connections).toEqual([]);
  });

  it('reads the dashed export-env input under both the runner spelling and the underscore spelling', () => {
    expect(
      parseActionInputs(envInputReader({ INPUT_GATEWAY: 'https://g', 'INPUT_EXPORT-ENV': 'false' })).exportEnv,
    ).toBe(false);
    expect(parseActionInputs(envInputReader({ INPUT_GATEWAY: 'https://g', INPUT_EXPORT_ENV: 'false' })).exportEnv).toBe(
      false,
    );
  });

  it('parses newline- and comma-separated connections with optional local ports', () => {
    expect(parseConnectionList('app-db:5432\n  billing-db , deploy-host\n\n# comment')).toEqual([
      { name: 'app-db', port: 5432 },
      { name: 'billing-db' },
      { name: 'deploy-host' },
    ]);
  });

  it.each([
    ['app db', /'app db'.*'name' or 'name:port'/],
    ['app-db:70000', /port 70000: use a port between 1 and 65535/],
    ['app-db,app-db', /lists 'app-db' twice/],
    ['a:5432,b:5432', /local port 5432 twice/],
  ])('refuses the connections input %j with a message naming the fix', (text, message) => {
    expect(() => parseConnectionList(text)).toThrow(message);
  });

  it('refuses a missing gateway, a non-http gateway, credentials in the URL and a malformed ttl', () => {
    expect(() => parseActionInputs(read({}))).toThrow(/Input 'gateway' is required/);
    expect(() => parseActionInputs(read({ gateway: 'ftp://g' }))).toThrow(/must be an http\(s\) URL/);
    expect(() => parseActionInputs(read({ gateway: 'https://u:p@g' }))).toThrow(/must not carry credentials/);
    expect(() => parseActionInputs(read({ gateway: 'https://g', ttl: 'forever' }))).toThrow(/'ttl' must be a duration/);
    expect(() => parseActionInputs(read({ gateway: 'https://g', 'export-env': 'maybe' }))).toThrow(
      /must be true or false/,
    );
  });
});

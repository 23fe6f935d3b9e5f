import { describe, expect, it } from 'vitest';
import { createContentMasker, luhnValid } from '../../../gateway/content/detectors.ts';
import { DETECTOR_NAMES } from '../../../gateway/content/detector-config.ts';
import { compileMaskingConfig } from '../../../gateway/masking/masking-config.ts';

const all = createContentMasker({ detectors: DETECTOR_NAMES });

describe('content detectors', () => {
  it('masks Luhn-valid card numbers with or without separators and leaves other digit runs', () => {
    expect(all.maskText('backup card 5500005555555559').text).toBe('backup card ****');
    expect(all.maskText('card 4111 1111 1111 1111 ok').text).toBe('card **** ok');
    expect(all.maskText('card 3782-822463-10005').text).toBe('card ****');
    expect(all.maskText('order 4111111111111112').count).toBe(0);
    expect(all.maskText('total 4882.50').count).toBe(0);
  });

  it('finds a card number glued to other digits', () => {
    expect(all.maskText('x55000055555555591').count).toBe(1);
  });

  it('masks e-mail addresses, including upper case and with text around them', () => {
    expect(all.maskText('alt mail turing.a@example.net.').text).toBe('alt mail ****.');
    expect(all.maskText('ADA@ENGINES.EXAMPLE.COM').text).toBe('****');
  });

  it('masks valid US SSNs and skips the invalid ranges', () => {
    expect(all.maskText('ssn 078-05-1120').text).toBe('ssn ****');
    expect(all.maskText('219-09-9999').count).toBe(1);
    for (const invalid of ['000-12-3456', '666-12-3456', '912-12-3456', '123-00-4567', '123-45-0000']) {
      expect(all.maskText(invalid).count, invalid).toBe(0);
    }
  });

  it('masks JWTs, AWS keys, GitHub tokens and PEM private keys', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
    expect(all.maskText(`Bearer ${jwt}`).text).toBe('Bearer ****');
    expect(all.maskText('key AKIAIOSFODNN7EXAMPLE').text).toBe('key ****');
    expect(all.maskText('secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY').text).toBe('secret ****');
    expect(all.maskText('ghp_' + 'a1B2'.repeat(9)).text).toBe('****');
    expect(all.maskText('github_pat_' + 'A'.repeat(22) + '_' + 'b'.repeat(59)).text).toBe('****');
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----';
    expect(all.maskText(`key:\n${pem}\nend`).text).toBe('key:\n****\nend');
    expect(all.maskText('-----BEGIN PRIVATE KEY-----\nMIIE truncated').text).toBe('****');
  });

  it('applies custom detectors from the policy', () => {
    const config = compileMaskingConfig(
      [{ custom_detectors: [{ name: 'internal-id', pattern: 'ID-[0-9]{8}' }] }],
      'db',
    );
    const masker = createContentMasker(config);
    expect(masker.maskText('see ID-12345678 now')).toEqual({ text: 'see **** now', count: 1 });
  });

  it('returns clean values untouched', () => {
    const clean = 'Ada Lovelace';
    const result = all.maskText(clean);
    expect(result).toEqual({ text: clean, count: 0 });
  });

  it('computes the Luhn checksum', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
  });
});

describe('masking config', () => {
  it('matches column rules by schema.table.column glob and keeps the fewest characters', () => {
    const config = compileMaskingConfig(
      [
        {
          connections: ['app-*'],
          columns: [{ column: 'public.customers.*', keep_last: 4 }, { column: 'customers.ssn' }],
        },
        { connections: ['other'], columns: [{ column: '*.*.name' }] },
      ],
      'app-db',
    );
    expect(config.columnRule('public', 'customers', 'card_number')).toEqual({ keepLast: 4 });
    expect(config.columnRule('public', 'customers', 'ssn')).toEqual({ keepLast: 0 });
    expect(config.columnRule('public', 'orders', 'name')).toBeNull();
  });

  it('rejects unknown detectors, bad patterns and keep_last above 4 with a fix in the message', () => {
    expect(() => compileMaskingConfig([{ detectors: ['iban'] }], 'db')).toThrow(/unknown detector "iban"/);
    expect(() => compileMaskingConfig([{ custom_detectors: [{ name: 'x', pattern: '(' }] }], 'db')).toThrow(
      /not a valid regular expression/,
    );
    expect(() => compileMaskingConfig([{ columns: [{ column: 'a.b.c', keep_last: 9 }] }], 'db')).toThrow(/from 0 to 4/);
  });
});

describe('content detector properties', () => {
  it('never lets a Luhn-valid card number through, whatever separators and text surround it', async () => {
    const fc = (await import('fast-check')).default;
    const withCheckDigit = (body: string): string => {
      for (let d = 0; d <= 9; d++) if (luhnValid(body + d)) return body + d;
      throw new Error('unreachable');
    };
    const card = fc
      .tuple(
        fc.constantFrom('4', '51', '55', '34', '37', '6011'),
        fc.integer({ min: 13, max: 19 }),
        fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 19, maxLength: 19 }),
      )
      .map(([prefix, len, digits]) => withCheckDigit((prefix + digits.join('')).slice(0, len - 1)));
    const noise = fc.stringMatching(/^[a-z ,.;:]{0,12}$/);
    fc.assert(
      fc.property(card, noise, noise, fc.constantFrom('', ' ', '-'), (number, before, after, sep) => {
        const written = number.replace(/(\d{4})(?=\d)/g, `$1${sep}`);
        const out = all.maskText(`${before}${written}${after}`).text;
        expect(out.replace(/[^0-9]/g, '')).not.toContain(number.slice(-8));
      }),
      { numRuns: 300 },
    );
  });

  it('never lets an e-mail address through, whatever its letter case', async () => {
    const fc = (await import('fast-check')).default;
    const email = fc
      .tuple(
        fc.stringMatching(/^[a-z0-9._]{1,12}$/),
        fc.stringMatching(/^[a-z0-9]{1,10}$/),
        fc.constantFrom('com', 'org', 'example.net', 'io'),
      )
      .map(([user, host, tld]) => `${user}@${host}.${tld}`);
    fc.assert(
      fc.property(email, fc.boolean(), fc.stringMatching(/^[a-z ;]{0,10}$/), (address, upper, before) => {
        const written = upper ? address.toUpperCase() : address;
        const out = all.maskText(`${before}${written}`).text;
        expect(out.toLowerCase()).not.toContain(address.slice(address.indexOf('@')));
      }),
      { numRuns: 300 },
    );
  });
});

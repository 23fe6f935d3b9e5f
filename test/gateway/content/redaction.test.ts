import { describe, expect, it } from 'vitest';
import { compileCustomDetector, detectorName } from '../../../gateway/content/detector-config.ts';
import { MAX_KEEP_LAST, REDACTED, redact } from '../../../gateway/content/redaction.ts';

describe('redaction', () => {
  it('keeps the last characters only of a value long enough to keep them hidden', () => {
    expect(redact('4111111111111111', 4)).toBe('****1111');
    expect(redact('12345678', 4)).toBe(REDACTED);
    expect(redact('secret', 0)).toBe(REDACTED);
    expect(MAX_KEEP_LAST).toBe(4);
  });

  it('keeps whole characters, not UTF-16 halves, of what it leaves visible', () => {
    expect(redact('abcdefgh😀😀', 2)).toBe('****😀😀');
  });
});

describe('detector config', () => {
  it('names the entry and the choices when a detector is unknown', () => {
    expect(detectorName('email', 'masking[0].detectors')).toBe('email');
    expect(() => detectorName('iban', 'masking[3].detectors')).toThrow(
      /masking\[3\]\.detectors: unknown detector "iban"; use one of payment_card, email/,
    );
  });

  it('compiles a custom pattern once as a global regex and names a broken one', () => {
    expect(compileCustomDetector({ name: 'ticket', pattern: 'T-[0-9]+' }, 'x').pattern.flags).toBe('g');
    expect(() => compileCustomDetector({ name: 'bad', pattern: '(' }, 'masking[1].custom_detectors')).toThrow(
      /masking\[1\]\.custom_detectors: pattern of "bad" is not a valid regular expression/,
    );
  });
});

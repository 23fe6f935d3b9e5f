import { describe, expect, it } from 'vitest';
import { parseReviewCommand } from '../../app/commands.ts';

describe('review commands in comments', () => {
  it('reads an approval on its own line among other text', () => {
    expect(parseReviewCommand('Checked the migration.\n/gatehouse approve apr_abc123\nthanks')).toEqual({
      verb: 'approve',
      id: 'apr_abc123',
    });
  });

  it('reads a denial with and without a reason', () => {
    expect(parseReviewCommand('/gatehouse deny apr_abc123 not during the freeze')).toEqual({
      verb: 'deny',
      id: 'apr_abc123',
      reason: 'not during the freeze',
    });
    expect(parseReviewCommand('/gatehouse deny apr_abc123')).toEqual({ verb: 'deny', id: 'apr_abc123', reason: null });
  });

  it('ignores commands that are quoted or inside a code block', () => {
    expect(parseReviewCommand('> /gatehouse approve apr_abc123')).toBeNull();
    expect(parseReviewCommand('```\n/gatehouse approve apr_abc123\n```')).toBeNull();
  });

  it('refuses a comment with two commands rather than guessing', () => {
    expect(parseReviewCommand('/gatehouse approve apr_abc123\n/gatehouse deny apr_abc123')).toBeNull();
  });

  it('ignores text that only mentions the command', () => {
    expect(parseReviewCommand('use /gatehouse approve apr_abc123 to approve')).toBeNull();
    expect(parseReviewCommand('/gatehouse approve')).toBeNull();
  });
});

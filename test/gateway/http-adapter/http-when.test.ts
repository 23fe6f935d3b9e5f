import { describe, expect, it } from 'vitest';
import { compileHttpWhen, compilePathGlobs, type HttpFacts } from '../../../gateway/http-adapter/http-when.ts';
import { parseMediaType } from '../../../gateway/http-adapter/media-type.ts';
import { requestBodyFacts } from '../../../gateway/http-adapter/request-body-facts.ts';

function facts(partial: Partial<HttpFacts> = {}): HttpFacts {
  return {
    method: 'GET',
    path: '/',
    queryKeys: [],
    contentType: null,
    body: { kind: 'none' },
    upgrade: null,
    ...partial,
  };
}

function jsonBody(text: string) {
  return requestBodyFacts(
    { bytes: Buffer.from(text), truncated: false, limit: 1024 },
    parseMediaType('application/json'),
    undefined,
  );
}

describe('compilePathGlobs', () => {
  it('keeps * and ? inside one segment', () => {
    const test = compilePathGlobs(['/v1/repos/*/issues']);
    expect(test('/v1/repos/app/issues')).toBe(true);
    expect(test('/v1/repos/app/x/issues')).toBe(false);
    expect(compilePathGlobs(['/v?'])('/v1')).toBe(true);
    expect(compilePathGlobs(['/v?'])('/v12')).toBe(false);
  });

  it('lets a ** segment span zero or more segments', () => {
    const test = compilePathGlobs(['/admin/**']);
    expect(test('/admin')).toBe(true);
    expect(test('/admin/users/1')).toBe(true);
    expect(test('/administrator')).toBe(false);
    expect(compilePathGlobs(['/**'])('/')).toBe(true);
  });

  it('matches case-insensitively and ignores a trailing slash', () => {
    const test = compilePathGlobs(['/Admin/']);
    expect(test('/admin')).toBe(true);
    expect(test('/ADMIN/')).toBe(true);
    expect(compilePathGlobs(['/'])('/')).toBe(true);
    expect(compilePathGlobs(['/'])('/a')).toBe(false);
  });

  it('treats regex characters in a pattern literally', () => {
    expect(compilePathGlobs(['/a.b/(x)'])('/a.b/(x)')).toBe(true);
    expect(compilePathGlobs(['/a.b'])('/aXb')).toBe(false);
  });
});

describe('compileHttpWhen', () => {
  it('ANDs keys and ORs list entries', () => {
    const test = compileHttpWhen({ method: ['delete', 'POST'], path: ['/v1/items/*'] }, true);
    expect(test(facts({ method: 'DELETE', path: '/v1/items/3' }))).toBe(true);
    expect(test(facts({ method: 'GET', path: '/v1/items/3' }))).toBe(false);
    expect(test(facts({ method: 'POST', path: '/v1/other/3' }))).toBe(false);
  });

  it('matches query keys and content types by glob', () => {
    const test = compileHttpWhen({ query: ['force', 'dry*'], content_type: ['application/*'] }, true);
    expect(test(facts({ queryKeys: ['x', 'FORCE'], contentType: 'application/json' }))).toBe(true);
    expect(test(facts({ queryKeys: ['dry_run'], contentType: 'application/json' }))).toBe(true);
    expect(test(facts({ queryKeys: ['x'], contentType: 'application/json' }))).toBe(false);
    expect(test(facts({ queryKeys: ['force'], contentType: null }))).toBe(false);
  });

  it('matches JSON body fields by path and value', () => {
    const test = compileHttpWhen({ body: { '$.force': true, '$.target.env': ['prod*', 'live'] } }, true);
    expect(test(facts({ body: jsonBody('{"force":true,"target":{"env":"production"}}') }))).toBe(true);
    expect(test(facts({ body: jsonBody('{"force":true,"target":{"env":"staging"}}') }))).toBe(false);
    expect(test(facts({ body: jsonBody('{"force":"true","target":{"env":"live"}}') }))).toBe(false);
    expect(test(facts({ body: { kind: 'none' } }))).toBe(false);
  });

  it('lets only deny rules match a body they cannot read', () => {
    const unreadable = facts({ body: jsonBody('{"force":false,"force":true}') });
    expect(unreadable.body.kind).toBe('unreadable');
    expect(compileHttpWhen({ body: { '$.force': true } }, false)(unreadable)).toBe(true);
    expect(compileHttpWhen({ body: { '$.force': true } }, true)(unreadable)).toBe(false);
  });

  it('matches every request when empty', () => {
    expect(compileHttpWhen({}, true)(facts({ method: 'PATCH', path: '/x' }))).toBe(true);
  });
});

describe('requestBodyFacts', () => {
  const json = parseMediaType('application/json; charset=UTF-8');
  const body = (text: string, truncated = false) => ({ bytes: Buffer.from(text), truncated, limit: 8 });

  it('reads a single strict JSON value', () => {
    expect(requestBodyFacts(body('{"a":1}'), json, undefined)).toEqual({ kind: 'json', value: { a: 1 } });
    expect(requestBodyFacts(null, json, undefined)).toEqual({ kind: 'none' });
  });

  it.each([
    ['a truncated body', body('{"a":', true), json, undefined, /larger than 8 bytes/],
    ['a compressed body', body('xx'), json, 'gzip', /compressed/],
    ['a body of another type', body('a=1'), parseMediaType('application/x-www-form-urlencoded'), undefined, /not JSON/],
    ['a body with no type', body('{}'), null, undefined, /no Content-Type/],
    ['another charset', body('{}'), parseMediaType('application/json; charset=utf-16'), undefined, /not UTF-8/],
    ['a repeated key', body('{"a":1,"a":2}'), json, undefined, /appears twice/],
    ['two values', body('{}{}'), json, undefined, /more than one/],
    ['invalid JSON', body('{a:1}'), json, undefined, /not valid JSON/],
  ])('calls %s unreadable', (_name, gathered, type, encoding, reason) => {
    const result = requestBodyFacts(gathered, type, encoding);
    expect(result.kind).toBe('unreadable');
    expect(result.kind === 'unreadable' && result.reason).toMatch(reason);
  });
});

describe('compileHttpWhen upgrades', () => {
  const upgrade = facts({ path: '/socket', upgrade: 'websocket' });

  it('matches a WebSocket upgrade only with a rule that lists it, unless the rule denies', () => {
    expect(compileHttpWhen({ path: ['/**'] }, true)(upgrade)).toBe(false);
    expect(compileHttpWhen({ path: ['/**'], upgrade: ['websocket'] }, true)(upgrade)).toBe(true);
    expect(compileHttpWhen({ path: ['/socket'] }, false)(upgrade)).toBe(true);
  });

  it('keeps an upgrade rule off plain requests', () => {
    expect(compileHttpWhen({ upgrade: ['websocket'] }, true)(facts({ path: '/socket' }))).toBe(false);
  });
});

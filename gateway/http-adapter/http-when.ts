import { compileGlobs } from '../policy/glob.ts';
import { compileJsonPath, type JsonPathTest } from '../policy/json-path.ts';
import type { JsonPathStep } from './json-scanner.ts';
import type { HttpRequestAction } from '../policy/actions-and-decisions.ts';

/**
 * The `when.http` facts of a rule, as written in YAML. Lists are "any of"; keys are ANDed; a rule
 * whose `when.http` is empty matches every HTTP request of its connections.
 */
export interface HttpWhen {
  /** Request methods, e.g. [GET, HEAD]; compared upper-case. */
  method?: string[];
  /** Path globs over the decoded path: `*` and `?` stay inside one segment, a `**` segment spans any number. */
  path?: string[];
  /** Globs on query keys: matches when the request has any matching key. */
  query?: string[];
  /** Globs on the request's media type (`application/json`, `application/*`). */
  content_type?: string[];
  /** JSON path → expected value (a list: any of). Strings are globs; numbers, booleans and null compare exactly. */
  body?: Record<string, unknown>;
  /**
   * `[websocket]`: the rule applies to WebSocket upgrades. Only deny rules match an upgrade without
   * listing it, since what follows an upgrade is not decided message by message.
   */
  upgrade?: 'websocket'[];
}

/** The facts of one HTTP request the engine decides on: the action without its routing fields. */
export type HttpFacts = Omit<HttpRequestAction, 'type' | 'connection' | 'identity'>;

/** A compiled `when.http`: true when the request has every fact the rule names. */
export type HttpFactTest = (facts: HttpFacts) => boolean;

/**
 * Compiles `when.http`. `strict` is false only for deny rules: an unreadable body then matches a
 * rule's body facts (fail closed), while allow and review rules never match what they cannot read.
 */
export function compileHttpWhen(when: HttpWhen, strict: boolean): HttpFactTest {
  const methods = when.method && new Set(when.method.map((m) => m.toUpperCase()));
  const paths = when.path && compilePathGlobs(when.path);
  const query = when.query && compileGlobs(when.query);
  const contentType = when.content_type && compileGlobs(when.content_type);
  const body = when.body && compileBodyTests(when.body);
  const upgrades = when.upgrade !== undefined;
  return (facts) => {
    if (facts.upgrade !== null ? !upgrades && strict : upgrades) return false;
    if (methods && !methods.has(facts.method)) return false;
    if (paths && !paths(facts.path)) return false;
    if (query && !facts.queryKeys.some(query)) return false;
    if (contentType && !(facts.contentType !== null && contentType(facts.contentType))) return false;
    if (body) {
      if (facts.body.kind === 'unreadable') return !strict;
      if (facts.body.kind === 'none') return false;
      const value = facts.body.value;
      return body.every((test) => test(value));
    }
    return true;
  };
}

/** Path globs: `*`/`?` never cross `/`; a `**` segment matches zero or more segments. Case-insensitive. */
export function compilePathGlobs(patterns: readonly string[]): (path: string) => boolean {
  const regexes = patterns.map(pathGlobToRegExp);
  return (path) => {
    const subject = path === '/' ? '' : path.replace(/\/$/, '');
    return regexes.some((re) => re.test(subject));
  };
}

function pathGlobToRegExp(pattern: string): RegExp {
  const trimmed = pattern === '/' ? '' : pattern.replace(/\/$/, '');
  const parts = trimmed.split('/').slice(1);
  let source = '';
  for (const part of parts) source += part === '**' ? '(?:/[^/]+)*' : `/${segmentGlob(part)}`;
  return new RegExp(`^${source}$`, 'i');
}

function segmentGlob(part: string): string {
  let source = '';
  for (let i = 0; i < part.length; i++) {
    const ch = part[i]!;
    if (ch === '*') {
      while (part[i + 1] === '*') i++;
      source += '[^/]*';
    } else if (ch === '?') source += '[^/]';
    else if (ch === '[' && part.indexOf(']', i + 2) > 0) {
      const close = part.indexOf(']', i + 2);
      const body = part
        .slice(i + 1, close)
        .replace(/\\/g, '\\\\')
        .replace(/\//g, '');
      source += `[${body.startsWith('!') ? `^/${body.slice(1)}` : body}]`;
      i = close;
    } else source += ch.replace(/[.+^${}()|\\/[\]]/g, '\\$&');
  }
  return source;
}

function compileBodyTests(body: Record<string, unknown>): Array<(value: unknown) => boolean> {
  return Object.entries(body).map(([path, expected]) => {
    const test = compileJsonPath(path);
    const wanted = (Array.isArray(expected) ? expected : [expected]).map(compileExpected);
    return (value) => selectValues(value, test).some((found) => wanted.some((matches) => matches(found)));
  });
}

function compileExpected(expected: unknown): (found: unknown) => boolean {
  if (typeof expected === 'string') {
    const glob = compileGlobs([expected]);
    return (found) => typeof found === 'string' && glob(found);
  }
  return (found) => found === expected;
}

/** Every value inside `root` whose path the test accepts (depth-first, the root included). */
export function selectValues(root: unknown, test: JsonPathTest): unknown[] {
  const found: unknown[] = [];
  const path: JsonPathStep[] = [];
  const visit = (value: unknown): void => {
    if (test(path)) found.push(value);
    if (value === null || typeof value !== 'object') return;
    const entries: Array<[JsonPathStep, unknown]> = Array.isArray(value)
      ? value.map((item, index) => [index, item])
      : Object.entries(value as Record<string, unknown>);
    for (const [step, child] of entries) {
      path.push(step);
      visit(child);
      path.pop();
    }
  };
  visit(root);
  return found;
}

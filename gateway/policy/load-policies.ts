import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { explainSchemaError, lineOfError, lineOfPointer } from '../config/schema-errors.ts';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { compileClaimPattern } from '../identity/claim-pattern.ts';
import { parseDurationSeconds } from '../identity/duration.ts';
import type { IdentityRuleSpec, MaskingSection, Policy, PolicyRule, RuleWhen } from './policy-types.ts';
import type { ReviewSettings } from './actions-and-decisions.ts';
import { compileLimit, type BlastLimit, type RawLimit } from './blast-limits.ts';

export const POLICY_SCHEMA_URL = new URL('../../policies/policy.schema.json', import.meta.url);

export const REVIEW_DEFAULTS = {
  timeoutSeconds: 600,
  minPermission: 'write',
  teams: [],
  approvals: 1,
} as const satisfies ReviewSettings;

/** One policy file's text; what {@link parsePolicyFiles} combines. */
export interface PolicySource {
  file: string;
  text: string;
}

/**
 * Loads every `*.yaml`/`*.yml` file directly inside `dir` (not sub-folders such as examples/),
 * in file-name order, validates each against the published schema and combines them.
 * Throws a GatehouseError naming file:line, the key path and the fix.
 */
export function loadPolicies(dir: string): Policy {
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isFile() && /\.ya?ml$/i.test(entry.name))
      .map((entry) => entry.name)
      .sort();
  } catch {
    throw new GatehouseError(
      'policy.unreadable',
      `${dir}: cannot read the policy folder; set 'policies:' in gatehouse.yaml to a folder of policy YAML files`,
    );
  }
  if (names.length === 0) {
    throw new GatehouseError(
      'policy.empty',
      `${dir}: no .yaml policy files; copy policies/default.yaml from the Gatehouse package into it`,
    );
  }
  return parsePolicyFiles(
    names.map((name) => {
      const file = path.join(dir, name);
      return { file, text: readFileSync(file, 'utf8') };
    }),
  );
}

/** The document's data when it is valid YAML matching the schema; otherwise its problems are added and undefined returned. */
function validDocument(
  file: string,
  doc: Document.Parsed,
  lineCounter: LineCounter,
  validate: Validator,
  problems: string[],
): Record<string, unknown> | undefined {
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    problems.push(
      `${file}:${first.linePos?.[0]?.line ?? '?'}: not valid YAML: ${first.message.split('\n')[0]}; fix the indentation or quoting there`,
    );
    return undefined;
  }
  const data = (doc.toJS() ?? {}) as Record<string, unknown>;
  if (validate(data)) return data;
  for (const error of (validate.errors ?? []).filter((e) => e.keyword !== 'if')) {
    const line = lineOfError(doc, lineCounter, error);
    problems.push(
      `${file}${line ? `:${line}` : ''}: ${error.instancePath || '/'} ${explainSchemaError(error, 'policies/policy.schema.json')}`,
    );
  }
  return undefined;
}

/** Like {@link loadPolicies} for texts already in memory (tests, the demo, `policy check`). */
export function parsePolicyFiles(sources: readonly PolicySource[]): Policy {
  const validate = compileSchema();
  const identities: IdentityRuleSpec[] = [];
  const rules: PolicyRule[] = [];
  const masking: MaskingSection[] = [];
  const limits: BlastLimit[] = [];
  const problems: string[] = [];
  const seenRules = new Map<string, string>();
  const seenIdentities = new Map<string, string>();

  for (const { file, text } of sources) {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter });
    const data = validDocument(file, doc, lineCounter, validate, problems);
    if (!data) continue;
    const at = (pointer: string) => {
      const line = lineOfPointer(doc, lineCounter, pointer);
      return `${file}${line ? `:${line}` : ''}`;
    };
    for (const [index, spec] of ((data.identities ?? []) as IdentityRuleSpec[]).entries()) {
      const where = at(`/identities/${index}`);
      const earlier = seenIdentities.get(spec.name);
      if (earlier)
        problems.push(
          `${where}: identity '${spec.name}' is already defined at ${earlier}; give each identity a unique name`,
        );
      seenIdentities.set(spec.name, where);
      checkClaims(spec.claims, `${where}: /identities/${index}/claims`, problems);
      identities.push(spec);
    }
    for (const [index, raw] of ((data.rules ?? []) as RawRule[]).entries()) {
      const where = at(`/rules/${index}`);
      const earlier = seenRules.get(raw.name);
      if (earlier)
        problems.push(`${where}: rule '${raw.name}' is already defined at ${earlier}; give each rule a unique name`);
      seenRules.set(raw.name, where);
      checkClaims(raw.claims, `${where}: /rules/${index}/claims`, problems);
      try {
        rules.push(compileRule(raw, file, lineOfPointer(doc, lineCounter, `/rules/${index}`)));
      } catch (error) {
        problems.push(`${where}: /rules/${index}/review ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    masking.push(...((data.masking ?? []) as MaskingSection[]));
    for (const [index, raw] of ((data.limits ?? []) as RawLimit[]).entries()) {
      try {
        limits.push(compileLimit(raw, reviewed(raw) ? compileReview(raw.review) : undefined));
      } catch (error) {
        problems.push(`${at(`/limits/${index}`)}: /limits/${index}/review ${(error as Error).message}`);
      }
    }
  }
  if (problems.length > 0) throw new GatehouseError('policy.invalid', [...new Set(problems)].join('\n'));
  return { files: sources.map((s) => s.file), identities, rules, masking, limits };
}

interface RawRule {
  name: string;
  connections?: string[];
  identities?: string[];
  claims?: Record<string, string | number | boolean>;
  when?: RuleWhen;
  action: PolicyRule['action'];
  reason?: string;
  review?: {
    timeout?: string;
    min_permission?: ReviewSettings['minPermission'];
    teams?: string[];
    approvals?: number;
    window?: string;
  };
}

function compileRule(raw: RawRule, file: string, line: number | undefined): PolicyRule {
  const rule: PolicyRule = {
    name: raw.name,
    source: { file, line },
    connections: raw.connections ?? ['*'],
    identities: raw.identities,
    claims: raw.claims && Object.fromEntries(Object.entries(raw.claims).map(([k, v]) => [k, String(v)])),
    when: raw.when ?? {},
    action: raw.action,
    reason:
      raw.reason ??
      `${raw.action === 'allow' ? 'allowed' : raw.action === 'deny' ? 'denied' : 'held for review'} by policy rule '${raw.name}'`,
  };
  if (raw.action === 'review') rule.review = compileReview(raw.review);
  return rule;
}

function reviewed(raw: RawLimit): boolean {
  return raw.over_estimate === 'review' || raw.over_read === 'review';
}

function compileReview(review: RawRule['review'] = {}): ReviewSettings {
  return {
    timeoutSeconds: review.timeout
      ? parseDurationSeconds(String(review.timeout), 'timeout')
      : REVIEW_DEFAULTS.timeoutSeconds,
    minPermission: review.min_permission ?? REVIEW_DEFAULTS.minPermission,
    teams: review.teams ?? REVIEW_DEFAULTS.teams,
    approvals: review.approvals ?? REVIEW_DEFAULTS.approvals,
    ...(review.window ? { windowSeconds: parseDurationSeconds(String(review.window), 'window') } : {}),
  };
}

function checkClaims(claims: Record<string, unknown> | undefined, where: string, problems: string[]): void {
  for (const [claim, value] of Object.entries(claims ?? {})) {
    try {
      compileClaimPattern(String(value), `${where}/${claim}`);
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  }
}

type Validator = ReturnType<Ajv['compile']>;
let compiledSchema: Validator | undefined;

/** The published schema compiled once: it is a constant of the package, like a compiled regex. */
function compileSchema(): Validator {
  compiledSchema ??= new Ajv({ allErrors: true, strict: false }).compile(
    JSON.parse(readFileSync(POLICY_SCHEMA_URL, 'utf8')) as object,
  );
  return compiledSchema;
}

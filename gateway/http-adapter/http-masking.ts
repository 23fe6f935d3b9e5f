import picomatch from 'picomatch';
import { GatehouseError } from '../errors/gatehouse-error.ts';
import { MAX_KEEP_LAST } from '../content/redaction.ts';
import { compileGlobs } from '../policy/glob.ts';
import { compileJsonPath } from '../policy/json-path.ts';
import type { JsonFieldRule, TextMasker } from './json-masker.ts';
import type { HttpMaskingRules } from './response-plan.ts';

/** The HTTP keys of a policy `masking:` entry, as written. */
export interface HttpMaskingSection {
  connections?: readonly string[];
  /** JSON paths of response fields to replace, e.g. `$.user.email`, `$..token`. */
  fields?: readonly { path: string; keep_last?: number }[];
  /** Media-type globs sent unmasked (binary downloads, images): nothing else unreadable is passed. */
  pass_content_types?: readonly string[];
}

/**
 * The HTTP masking of one connection, merged from every `masking:` entry that applies to it, with
 * the connection's content detectors. Throws a GatehouseError naming the entry for a bad path.
 */
export function compileHttpMasking(
  sections: readonly HttpMaskingSection[],
  connection: string,
  detectors: TextMasker,
): HttpMaskingRules {
  const fields: JsonFieldRule[] = [];
  const passes: string[] = [];
  sections.forEach((section, index) => {
    if (!(section.connections ?? ['*']).some((glob) => picomatch.isMatch(connection, glob))) return;
    for (const field of section.fields ?? []) fields.push(compileField(field, index));
    passes.push(...(section.pass_content_types ?? []));
  });
  const passTest = passes.length > 0 ? compileGlobs(passes) : () => false;
  return { fields, detectors, passes: passTest };
}

function compileField(field: { path: string; keep_last?: number }, index: number): JsonFieldRule {
  const keepLast = field.keep_last ?? 0;
  if (!Number.isInteger(keepLast) || keepLast < 0 || keepLast > MAX_KEEP_LAST)
    throw new GatehouseError(
      'masking.bad-keep-last',
      `masking[${index}].fields: keep_last of "${field.path}" must be a whole number from 0 to ${MAX_KEEP_LAST}`,
    );
  try {
    return { path: field.path, test: compileJsonPath(field.path), keepLast };
  } catch (error) {
    throw new GatehouseError('masking.bad-field', `masking[${index}].fields: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

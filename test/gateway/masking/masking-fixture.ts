import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import {
  compileMaskingConfig,
  type MaskingConfig,
  type MaskingPolicySection,
} from '../../../gateway/masking/masking-config.ts';

/** The masking sections of policies/examples/masking.yaml, which mirror the corpus policy. */
export function exampleMaskingSections(): MaskingPolicySection[] {
  const text = readFileSync(new URL('../../../policies/examples/masking.yaml', import.meta.url), 'utf8');
  return (parse(text) as { masking: MaskingPolicySection[] }).masking;
}

export function exampleMaskingConfig(connection = 'app-db'): MaskingConfig {
  return compileMaskingConfig(exampleMaskingSections(), connection);
}

export interface CorpusCase {
  sql: string;
  expect: 'masked' | 'safe' | 'clear';
  values?: string[];
  via?: 'simple' | 'extended';
  params?: string[];
  result_format?: 'text' | 'binary';
}

export interface MaskingCorpus {
  sensitive: string[];
  cases: CorpusCase[];
}

export function maskingCorpus(): MaskingCorpus {
  const text = readFileSync(new URL('../../fixtures/corpus/masking.yaml', import.meta.url), 'utf8');
  return parse(text) as MaskingCorpus;
}

/** The leak rule of the corpus header: every byte sequence that must never reach a client, lower-cased. */
export function leakNeedles(value: string): string[] {
  const needles = new Set<string>([value]);
  const digits = value.replace(/[^0-9]/g, '');
  if (digits.length >= 5) needles.add(digits);
  for (let i = 0; i + 8 <= value.length; i++) needles.add(value.slice(i, i + 8));
  needles.add([...value].reverse().join(''));
  needles.add(Buffer.from(value).toString('hex'));
  needles.add(Buffer.from(value).toString('base64').replace(/=+$/, ''));
  return [...needles].map((n) => n.toLowerCase());
}

/** The first leaked sensitive value found in `output`, or null. */
export function findLeak(output: string | Buffer, sensitive: readonly string[]): string | null {
  const hay = (typeof output === 'string' ? output : output.toString('latin1')).toLowerCase();
  for (const value of sensitive) {
    for (const needle of leakNeedles(value)) if (hay.includes(needle)) return `${value} (as "${needle}")`;
  }
  return null;
}

import type { CustomDetector, DetectorName } from './detector-config.ts';

/** What a detector replaces a match with: fixed, so nothing about the secret's length leaks. */
export const DETECTOR_REPLACEMENT = '****';

/** Result of scanning one value: the text to send and how many secrets were replaced. */
export interface MaskedText {
  text: string;
  count: number;
}

/**
 * Masks secrets found by content in free text. Built once per connection; `maskText` is on the
 * hot path of every row, so a single pre-check regex rejects clean values before any detector runs.
 */
export interface ContentMasker {
  maskText(text: string): MaskedText;
  /**
   * Cheap byte-level pre-check over UTF-8 `bytes[start, end)`: false means no detector can match,
   * so the value need not even be decoded. Never false for a value some detector matches.
   */
  mightMatch(bytes: Uint8Array, start: number, end: number): boolean;
  /** True when some detector is enabled (when false, `maskText` is the identity). */
  readonly active: boolean;
}

export interface ContentMaskerConfig {
  detectors: readonly DetectorName[];
  customDetectors?: readonly CustomDetector[];
}

/**
 * The least evidence any enabled detector needs before it can match: a run of digits (single
 * space/dash separators allowed), a run of token characters, an '@', "eyJ", a run of dashes.
 */
interface Triggers {
  digits: number;
  word: number;
  at: boolean;
  eyJ: boolean;
  dashes: number;
}

const TRIGGERS: Record<DetectorName, Partial<Triggers>> = {
  payment_card: { digits: 13 },
  us_ssn: { digits: 9 },
  email: { at: true },
  jwt: { eyJ: true },
  aws_access_key: { word: 20 },
  github_token: { word: 22 },
  private_key: { dashes: 5 },
};

function triggersOf(names: readonly DetectorName[]): Triggers {
  const t: Triggers = { digits: Infinity, word: Infinity, at: false, eyJ: false, dashes: Infinity };
  for (const name of names) {
    const x = TRIGGERS[name];
    if (x.digits !== undefined) t.digits = Math.min(t.digits, x.digits);
    if (x.word !== undefined) t.word = Math.min(t.word, x.word);
    if (x.dashes !== undefined) t.dashes = Math.min(t.dashes, x.dashes);
    t.at ||= x.at === true;
    t.eyJ ||= x.eyJ === true;
  }
  return t;
}

/** One pass over UTF-8 bytes, stopping at the first sufficient evidence. */
function bytesEvidence(bytes: Uint8Array, start: number, end: number, t: Triggers): boolean {
  let digits = 0,
    word = 0,
    dashes = 0;
  let sep = false;
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    if (b >= 48 && b <= 57) {
      sep = false;
      if (++digits >= t.digits) return true;
    } else if ((b === 32 || b === 45) && digits > 0 && !sep) sep = true;
    else {
      digits = 0;
      sep = false;
    }
    if ((b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b === 95 || b === 47 || b === 43) {
      if (++word >= t.word) return true;
    } else word = 0;
    if (b === 45) {
      if (++dashes >= t.dashes) return true;
    } else dashes = 0;
    if (b === 64 && t.at) return true;
    if (b === 101 && t.eyJ && i + 2 < end && bytes[i + 1] === 121 && bytes[i + 2] === 74) return true;
  }
  return false;
}

/** {@link bytesEvidence} over UTF-16 code units (every trigger character is ASCII). */
function textEvidence(text: string, t: Triggers): boolean {
  const start = 0;
  const end = text.length;
  let digits = 0,
    word = 0,
    dashes = 0;
  let sep = false;
  for (let i = start; i < end; i++) {
    const b = text.charCodeAt(i);
    if (b >= 48 && b <= 57) {
      sep = false;
      if (++digits >= t.digits) return true;
    } else if ((b === 32 || b === 45) && digits > 0 && !sep) sep = true;
    else {
      digits = 0;
      sep = false;
    }
    if ((b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b === 95 || b === 47 || b === 43) {
      if (++word >= t.word) return true;
    } else word = 0;
    if (b === 45) {
      if (++dashes >= t.dashes) return true;
    } else dashes = 0;
    if (b === 64 && t.at) return true;
    if (b === 101 && t.eyJ && i + 2 < end && text.charCodeAt(i + 1) === 121 && text.charCodeAt(i + 2) === 74)
      return true;
  }
  return false;
}

interface Detector {
  name: string;
  /** Cheap test that every match must pass; never misses a real match. */
  trigger: RegExp;
  /** Returns the [start, end) ranges to replace. */
  find(text: string): Array<[number, number]>;
}

const CARD_RUN = /(?<![0-9])[0-9](?:[ -]?[0-9]){12,}(?![0-9])/g;
const EMAIL = /[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
const SSN = /(?<![0-9])(?!000|666|9[0-9]{2})[0-9]{3}([- ])(?!00)[0-9]{2}\1(?!0000)[0-9]{4}(?![0-9])/g;
const JWT = /eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;
const AWS_KEY_ID = /(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}(?![A-Z0-9])/gi;
const AWS_SECRET =
  /(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]*[0-9])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[A-Z])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g;
const GITHUB = /(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})/gi;
const PEM =
  /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g;

function regexFinder(re: RegExp): (text: string) => Array<[number, number]> {
  return (text) => {
    const out: Array<[number, number]> = [];
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      out.push([m.index, m.index + m[0].length]);
    }
    return out;
  };
}

/** Luhn checksum over a digit string. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Issuer prefixes of the card networks; a card glued to other digits must start with one. */
const CARD_PREFIX = /^(?:4|5[1-5]|2[2-7]|3[47]|3[068]|35|6(?:011|5|4[4-9]|2))/;

/**
 * True when the run (separators removed) is a Luhn-valid 13..19-digit number, or holds a
 * Luhn-valid 13..19-digit window starting with a card network prefix (a card glued to digits).
 */
function runHoldsCard(run: string): boolean {
  const digits = run.replace(/[ -]/g, '');
  if (digits.length <= 19 && !/^(\d)\1*$/.test(digits) && luhnValid(digits)) return true;
  for (let start = 0; start + 13 <= digits.length; start++) {
    if (!CARD_PREFIX.test(digits.slice(start, start + 4))) continue;
    for (let len = 13; len <= 19 && start + len <= digits.length; len++) {
      if (start === 0 && len === digits.length) continue;
      if (luhnValid(digits.slice(start, start + len))) return true;
    }
  }
  return false;
}

function findCards(text: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  CARD_RUN.lastIndex = 0;
  for (let m = CARD_RUN.exec(text); m; m = CARD_RUN.exec(text)) {
    if (runHoldsCard(m[0])) out.push([m.index, m.index + m[0].length]);
  }
  return out;
}

const BUILT_IN: Record<DetectorName, Detector[]> = {
  payment_card: [{ name: 'payment_card', trigger: /[0-9](?:[ -]?[0-9]){12}/, find: findCards }],
  email: [{ name: 'email', trigger: /@/, find: regexFinder(EMAIL) }],
  us_ssn: [{ name: 'us_ssn', trigger: /[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}/, find: regexFinder(SSN) }],
  jwt: [{ name: 'jwt', trigger: /eyJ/, find: regexFinder(JWT) }],
  aws_access_key: [
    { name: 'aws_access_key', trigger: /A[BCGIKNPRS][A-Z]A[A-Z0-9]{16}/i, find: regexFinder(AWS_KEY_ID) },
    { name: 'aws_secret_key', trigger: /[A-Za-z0-9/+]{40}/, find: regexFinder(AWS_SECRET) },
  ],
  github_token: [{ name: 'github_token', trigger: /gh[pousr]_|github_pat_/i, find: regexFinder(GITHUB) }],
  private_key: [{ name: 'private_key', trigger: /-----BEGIN /, find: regexFinder(PEM) }],
};

/**
 * Builds the content masker for a connection's enabled detectors. Overlapping matches of
 * different detectors are merged, so a value is never partly revealed between two matches.
 */
export function createContentMasker(config: ContentMaskerConfig): ContentMasker {
  const builtIn: Detector[] = [];
  for (const name of config.detectors) builtIn.push(...BUILT_IN[name]);
  const custom: Detector[] = (config.customDetectors ?? []).map((c) => {
    const flags = c.pattern.flags.includes('g') ? c.pattern.flags : `${c.pattern.flags}g`;
    const re = new RegExp(c.pattern.source, flags);
    return { name: c.name, trigger: new RegExp(c.pattern.source, flags.replace(/[gy]/g, '')), find: regexFinder(re) };
  });
  if (builtIn.length === 0 && custom.length === 0)
    return { active: false, maskText: (text) => ({ text, count: 0 }), mightMatch: () => false };
  const triggers = triggersOf(config.detectors);
  const hasCustom = custom.length > 0;
  const mightMatch = (bytes: Uint8Array, start: number, end: number): boolean =>
    hasCustom || (end - start >= 5 && bytesEvidence(bytes, start, end, triggers));
  const textMightMatch = (text: string): boolean => text.length >= 5 && textEvidence(text, triggers);
  return {
    active: true,
    mightMatch,
    maskText(text) {
      const ranges: Array<[number, number]> = [];
      if (builtIn.length > 0 && textMightMatch(text)) {
        for (const d of builtIn) if (d.trigger.test(text)) ranges.push(...d.find(text));
      }
      for (const d of custom) if (d.trigger.test(text)) ranges.push(...d.find(text));
      if (ranges.length === 0) return { text, count: 0 };
      return replaceRanges(text, ranges);
    },
  };
}

function replaceRanges(text: string, ranges: Array<[number, number]>): MaskedText {
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  let out = '';
  let at = 0;
  for (const [start, end] of merged) {
    out += text.slice(at, start) + DETECTOR_REPLACEMENT;
    at = end;
  }
  return { text: out + text.slice(at), count: merged.length };
}

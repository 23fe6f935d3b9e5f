import { REDACTED } from '../content/redaction.ts';
import type { HttpCredential } from './credential.ts';
import type { TextMasker } from './json-masker.ts';

/** Shorter values are not searched for: they would mask unrelated text and are no credential worth the name. */
const MIN_SECRET_LENGTH = 6;

/** The strings a credential travels as (basic auth also as its base64 pair, a query value also encoded). */
export function credentialSecrets(credential: HttpCredential): string[] {
  switch (credential.type) {
    case 'bearer':
      return [credential.token];
    case 'basic':
      return [credential.password, Buffer.from(`${credential.username}:${credential.password}`).toString('base64')];
    case 'header':
      return [credential.value];
    case 'query':
      return [credential.value, encodeURIComponent(credential.value)];
    case 'none':
      return [];
  }
}

/**
 * The connection's detectors plus its own credential: a target that echoes the request (a debug
 * endpoint, an error page quoting headers) must not hand the job the secret the gateway added.
 */
export function withCredentialMasked(detectors: TextMasker, credential: HttpCredential): TextMasker {
  const secrets = [...new Set(credentialSecrets(credential))].filter((s) => s.length >= MIN_SECRET_LENGTH);
  if (secrets.length === 0) return detectors;
  const needles = secrets.map((s) => Buffer.from(s));
  return {
    active: true,
    mightMatch: (bytes, start, end) =>
      detectors.mightMatch(bytes, start, end) ||
      needles.some((needle) => Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).includes(needle)),
    maskText(text) {
      let count = 0;
      let out = text;
      for (const secret of secrets) {
        if (!out.includes(secret)) continue;
        const parts = out.split(secret);
        count += parts.length - 1;
        out = parts.join(REDACTED);
      }
      const rest = detectors.active ? detectors.maskText(out) : { text: out, count: 0 };
      return { text: rest.text, count: count + rest.count };
    },
  };
}

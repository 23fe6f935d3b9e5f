import { readFileSync } from 'node:fs';

/** The gateway's version (package.json), reported at /v1/version so clients can detect skew. */
export const GATEWAY_VERSION: string = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
).version;

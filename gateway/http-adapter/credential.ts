import type { HttpCredentialConfig } from '../config/config-types.ts';
import type { QueryParam } from './request-target.ts';

/** The connection's credential, as the config holds it (values interpolated from `${env:}`/`${file:}`). */
export type HttpCredential = HttpCredentialConfig;

/** A credential turned into what goes on the wire: one header or one query parameter. */
export interface CredentialPlacement {
  /** Lower-case header name and value to set, replacing whatever the client sent under that name. */
  header?: { name: string; value: string };
  /** Query parameter to append; a client parameter of the same name is removed first. */
  query?: { name: string; value: string };
}

export function placeCredential(credential: HttpCredential): CredentialPlacement {
  switch (credential.type) {
    case 'bearer':
      return { header: { name: 'authorization', value: `Bearer ${credential.token}` } };
    case 'basic': {
      const pair = Buffer.from(`${credential.username}:${credential.password}`, 'utf8').toString('base64');
      return { header: { name: 'authorization', value: `Basic ${pair}` } };
    }
    case 'header':
      return { header: { name: credential.name.toLowerCase(), value: credential.value } };
    case 'query':
      return { query: { name: credential.name, value: credential.value } };
    case 'none':
      return {};
  }
}

/**
 * The query string sent to the target: the client's own string, unless the credential travels in
 * the query, in which case any client parameter of that name is dropped (the job cannot choose the
 * credential) and the gateway's is appended.
 */
export function targetQuery(rawQuery: string, params: readonly QueryParam[], placement: CredentialPlacement): string {
  const credential = placement.query;
  if (!credential) return rawQuery;
  const own = `${encodeURIComponent(credential.name)}=${encodeURIComponent(credential.value)}`;
  if (!params.some((p) => p.key === credential.name)) return rawQuery ? `${rawQuery}&${own}` : own;
  const kept = rawQuery.split('&').filter((pair) => {
    if (pair === '') return false;
    const eq = pair.indexOf('=');
    return decodeKey(eq < 0 ? pair : pair.slice(0, eq)) !== credential.name;
  });
  return [...kept, own].join('&');
}

function decodeKey(key: string): string {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return key;
  }
}

/** Media types of responses the gateway cannot read, so never lets a client ask for. */
const OPAQUE = /protobuf|cbor/i;

/**
 * The `Accept` header the API server gets: protobuf and CBOR offers dropped (kubectl and client-go
 * ask for `application/vnd.kubernetes.protobuf,application/json`), the JSON ones kept in order
 * (Tables and aggregated discovery included); `application/json` when nothing readable is left.
 * The server then answers JSON, which the gateway masks.
 */
export function rewriteAccept(accept: string | undefined): string {
  const kept = (accept ?? '')
    .split(',')
    .map((offer) => offer.trim())
    .filter((offer) => offer !== '' && !OPAQUE.test(offer) && !/^\*\/\*/.test(offer));
  return kept.length ? kept.join(',') : 'application/json';
}

/** Client headers that never reach the API server: the client's credential and any impersonation. */
export function isStrippedKubeHeader(lowerName: string): boolean {
  return lowerName === 'authorization' || lowerName.startsWith('impersonate-');
}

/** What `Upgrade` asks for: the WebSocket exec kubectl 1.30+ uses, SPDY (the old one), or something else. */
export function upgradeKind(upgrade: string | undefined): 'websocket' | 'spdy' | 'other' | null {
  if (!upgrade) return null;
  const value = upgrade.trim().toLowerCase();
  if (value === 'websocket') return 'websocket';
  if (value.startsWith('spdy/')) return 'spdy';
  return 'other';
}

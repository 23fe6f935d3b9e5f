import { createHash } from 'node:crypto';

/** Where one chain's seal is: its chain id, sequence number and hash. */
export interface ChainSeal {
  chain: string;
  seq: number;
  hash: string;
}

/**
 * A session's final hash: SHA-256 over every chain's seal (chain id, seq, hash; in chain-id
 * order), so it changes when any event of any chain changes, when a chain is removed or added,
 * and when a seal is re-signed. Published outside the gateway (the job summary, the audit check
 * run) so `gatehouse audit verify --expect <hash>` catches a store rewritten by its owner.
 */
export function finalHash(seals: readonly ChainSeal[]): string {
  const lines = [...seals]
    .sort((a, b) => (a.chain < b.chain ? -1 : a.chain > b.chain ? 1 : 0))
    .map((seal) => `${seal.chain} ${seal.seq} ${seal.hash}`);
  return createHash('sha256')
    .update(['gatehouse-audit-final:v1', ...lines].join('\n'))
    .digest('hex');
}

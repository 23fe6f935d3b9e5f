import { createContentMasker, type ContentMasker } from '../content/detectors.ts';
import { compileMaskingConfig, type MaskingPolicySection } from '../masking/masking-config.ts';

/**
 * Each connection's content masker (the policy's detectors for that connection), compiled on
 * first use and shared by the PostgreSQL and SSH sides, so statement texts and command output
 * are masked by the same detectors without recompiling them per client.
 */
export function createContentMaskers(sections: readonly MaskingPolicySection[]): (connection: string) => ContentMasker {
  const maskers = new Map<string, ContentMasker>();
  return (connection) => {
    let masker = maskers.get(connection);
    if (!masker) {
      const masking = compileMaskingConfig(sections, connection);
      masker = createContentMasker({ detectors: masking.detectors, customDetectors: masking.customDetectors });
      maskers.set(connection, masker);
    }
    return masker;
  };
}

import { claimAsString } from './claim-pattern.ts';

const REPO_SUBJECT = /^repo:([^/@:]+)(?:@(\d+))?\/([^/@:]+)(?:@(\d+))?(:.*)?$/;

/**
 * The forms of a GitHub `sub` a rule may have been written against: the token's own subject,
 * the name-only form (`repo:owner/name:...`) and the immutable-id form
 * (`repo:owner@ownerId/name@repoId:...`, ids from the token's signed `repository_owner_id` and
 * `repository_id`). Rules written either way keep matching when a repository switches format.
 */
export function subjectForms(claims: Readonly<Record<string, unknown>>): string[] {
  const sub = claimAsString(claims.sub);
  if (sub === undefined) return [];
  const forms = new Set([sub]);
  const match = REPO_SUBJECT.exec(sub);
  if (match) {
    const [, owner, ownerIdInSub, repo, repoIdInSub, rest = ''] = match;
    forms.add(`repo:${owner}/${repo}${rest}`);
    const ownerId = ownerIdInSub ?? claimAsString(claims.repository_owner_id);
    const repoId = repoIdInSub ?? claimAsString(claims.repository_id);
    const consistent =
      (ownerIdInSub === undefined || ownerIdInSub === claimAsString(claims.repository_owner_id)) &&
      (repoIdInSub === undefined || repoIdInSub === claimAsString(claims.repository_id));
    if (ownerId && repoId && consistent) forms.add(`repo:${owner}@${ownerId}/${repo}@${repoId}${rest}`);
  }
  return [...forms];
}

/** Hints for the usual reasons a job's claims miss a rule, by failed claim name. */
const HINTS = {
  sub: "sub differs between branch pushes (repo:o/r:ref:...), environments (repo:o/r:environment:...) and pull requests (repo:o/r:pull_request); match the job's trigger",
  ref: 'ref is refs/heads/<branch> on pushes and refs/pull/<n>/merge on pull requests; a glob * does not cross /, use ** for nested branch names',
  environment: "the environment claim is present only when the job declares 'environment:'",
  repository_id: 'repository_id pins the numeric id; a re-created or transferred repository gets a new id',
  repository_owner_id:
    'repository_owner_id pins the numeric owner id; a renamed or re-created organization gets a new id',
  runner_environment:
    'the job ran on a self-hosted runner (or the token has no runner_environment); set allow_self_hosted: true on the rule if that is intended',
  event_name:
    'pull_request_target runs hold the base repository identity while running untrusted code; set allow_pull_request_target: true only if you mean it',
  job_workflow_ref:
    'job_workflow_ref names the reusable workflow file and its ref, e.g. o/r/.github/workflows/deploy.yml@refs/heads/main',
} as const;

/** One human hint for a denial, from the claim names that failed across the rules tried. */
export function denialHint(failedClaimNames: readonly string[], ruleCount: number): string {
  if (ruleCount === 0) return "the policy has no identities: add a rule under 'identities:' in the policies folder";
  const hints = [...new Set(failedClaimNames)]
    .map((name): string | undefined => (name in HINTS ? HINTS[name as keyof typeof HINTS] : undefined))
    .filter((hint): hint is string => hint !== undefined);
  if (hints.length === 0) {
    return "compare the rule's claims with the job's token claims (gatehouse policy explain --claims F shows which one differs)";
  }
  return hints.join('; ');
}

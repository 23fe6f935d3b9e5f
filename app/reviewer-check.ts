import type { ProbotOctokit } from 'probot';
import { PERMISSION_LEVELS, type ApprovalPolicy, type PermissionLevel } from '../wire/approvals.ts';

/** Whether a GitHub user may answer an approval, and if not, the reason shown to them. */
/** Whether a reviewer may answer, with why (or by which permission), so the reply on the pull request can say so. */
export type ReviewerVerdict = { ok: true; via: string } | { ok: false; why: string };

/** Who answered; the numeric id, not the login, is compared against the job's actors, since logins can be renamed. */
export interface Reviewer {
  id: number;
  login: string;
}

/**
 * Checks a reviewer against the rule: never one of the forbidden ids (actor, triggering actor,
 * PR author; compared by id, since logins can be renamed), then repository permission at or above
 * the rule's level, or membership of one of its teams. Any API failure refuses.
 */
export async function checkReviewer(
  octokit: ProbotOctokit,
  target: { owner: string; repo: string },
  reviewer: Reviewer,
  policy: ApprovalPolicy,
  forbiddenIds: ReadonlySet<number>,
  verb: 'approve' | 'deny',
): Promise<ReviewerVerdict> {
  if (verb === 'approve' && forbiddenIds.has(reviewer.id)) {
    return {
      ok: false,
      why: `@${reviewer.login} started this run or opened this pull request and cannot approve its statements; ask another reviewer`,
    };
  }
  const level = await permissionOf(octokit, target, reviewer.login);
  if (level !== null && rank(level) >= rank(policy.minPermission)) return { ok: true, via: `${level} permission` };
  for (const team of policy.teams) {
    if (await isTeamMember(octokit, team, reviewer.id)) return { ok: true, via: `team ${team}` };
  }
  const teams = policy.teams.length > 0 ? ` or membership of ${policy.teams.join(', ')}` : '';
  return {
    ok: false,
    why: `@${reviewer.login} has ${level ?? 'no'} permission on ${target.owner}/${target.repo}; this rule needs ${policy.minPermission}${teams}`,
  };
}

function rank(level: PermissionLevel): number {
  return PERMISSION_LEVELS.indexOf(level);
}

async function permissionOf(
  octokit: ProbotOctokit,
  target: { owner: string; repo: string },
  username: string,
): Promise<PermissionLevel | null> {
  try {
    const { data } = await octokit.request('GET /repos/{owner}/{repo}/collaborators/{username}/permission', {
      ...target,
      username,
    });
    const role = (data as { role_name?: string }).role_name;
    for (const candidate of [role, data.permission]) {
      if (candidate && (PERMISSION_LEVELS as readonly string[]).includes(candidate))
        return candidate as PermissionLevel;
    }
    return null;
  } catch (error) {
    if ((error as { status?: number }).status === 404) return null;
    throw error;
  }
}

async function isTeamMember(octokit: ProbotOctokit, team: string, userId: number): Promise<boolean> {
  const [org, slug] = team.split('/');
  if (!org || !slug) return false;
  try {
    const members = await octokit.paginate('GET /orgs/{org}/teams/{team_slug}/members', {
      org,
      team_slug: slug,
      per_page: 100,
    });
    return members.some((m) => m !== null && m.id === userId);
  } catch (error) {
    if ((error as { status?: number }).status === 404) return false;
    throw error;
  }
}

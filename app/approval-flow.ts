import type { Probot, ProbotOctokit } from 'probot';
import type { ApprovalCase, ApprovalStateStore } from './approval-state.ts';
import type { GatewayClient } from './gateway-client.ts';
import { checkReviewer, type Reviewer } from './reviewer-check.ts';
import { requestCheckOutput, requestComment } from './render.ts';
import {
  approveCommandFor,
  type ApprovalRequestedMessage,
  type ApprovalResolvedMessage,
  type ApprovalStatus,
  type ApprovalView,
} from '../wire/approvals.ts';

/** One reviewer's answer, from a comment or a check run button. */
export interface ReviewAnswer {
  id: string;
  verb: 'approve' | 'deny';
  reason: string | null;
  reviewer: Reviewer;
  /** `owner/name` of the repository the answer was given in. */
  repository: string;
  /** Its numeric id, compared with the job's `repository_id` claim (names can be reused after a rename). */
  repositoryId: number;
  installationId: number;
  /** Issue or PR number the answer was written on, where the reply goes when the request has no PR. */
  replyTo: number | null;
}

const CONCLUSIONS = {
  approved: 'success',
  denied: 'failure',
  'timed-out': 'timed_out',
  cancelled: 'cancelled',
  abandoned: 'cancelled',
  pending: 'neutral',
} as const satisfies Record<ApprovalStatus, string>;

function checkName(request: { connection: string }): string {
  return `gatehouse / approval ${request.connection}`;
}

/** The app's side of approvals: posting requests, counting answers, sending the decision. */
export function createApprovalFlow(deps: { app: Probot; gateway: GatewayClient; state: ApprovalStateStore }) {
  const { app, gateway, state } = deps;

  async function forbiddenIdsOf(
    octokit: ProbotOctokit,
    owner: string,
    repo: string,
    request: { binding: ApprovalRequestedMessage['binding'] },
    pullAuthorId: number | null,
  ): Promise<Set<number>> {
    const ids = new Set<number>();
    if (/^\d+$/.test(request.binding.actorId)) ids.add(Number(request.binding.actorId));
    const { data: run } = await octokit.request('GET /repos/{owner}/{repo}/actions/runs/{run_id}', {
      owner,
      repo,
      run_id: Number(request.binding.runId),
    });
    if (run.actor) ids.add(Number(run.actor.id));
    if (run.triggering_actor) ids.add(Number(run.triggering_actor.id));
    if (pullAuthorId !== null) ids.add(pullAuthorId);
    return ids;
  }

  async function findPull(
    octokit: ProbotOctokit,
    owner: string,
    repo: string,
    binding: ApprovalRequestedMessage['binding'],
  ): Promise<{ number: number; authorId: number | null } | null> {
    const fromRef = /^refs\/pull\/(\d+)\/(?:merge|head)$/.exec(binding.ref);
    if (fromRef) {
      const { data } = await octokit.request('GET /repos/{owner}/{repo}/pulls/{pull_number}', {
        owner,
        repo,
        pull_number: Number(fromRef[1]),
      });
      return { number: data.number, authorId: data.user ? Number(data.user.id) : null };
    }
    const { data } = await octokit.request('GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls', {
      owner,
      repo,
      commit_sha: binding.sha,
    });
    const pull = data.find((p) => p.state === 'open') ?? data[0];
    return pull ? { number: pull.number, authorId: pull.user ? Number(pull.user.id) : null } : null;
  }

  async function onRequested(request: ApprovalRequestedMessage): Promise<void> {
    if (state.get(request.id)) return;
    const [owner, repo] = request.binding.repository.split('/');
    if (!owner || !repo) throw new Error(`approval ${request.id} names no repository`);
    const appOctokit = await app.auth();
    const { data: installation } = await appOctokit.request('GET /repos/{owner}/{repo}/installation', { owner, repo });
    const octokit = await app.auth(installation.id);
    const pull = await findPull(octokit, owner, repo, request.binding);
    const forbiddenIds = await forbiddenIdsOf(octokit, owner, repo, request, pull?.authorId ?? null);
    const { data: check } = await octokit.request('POST /repos/{owner}/{repo}/check-runs', {
      owner,
      repo,
      name: checkName(request),
      head_sha: request.binding.sha,
      status: 'in_progress',
      external_id: request.id,
      output: requestCheckOutput(request),
      actions: [
        {
          label: 'Approve',
          identifier: 'approve',
          description: `Run the held statement on ${request.connection}`.slice(0, 40),
        },
        { label: 'Deny', identifier: 'deny', description: 'Refuse the held statement' },
      ],
    });
    state.set(request.id, {
      request,
      owner,
      repo,
      installationId: installation.id,
      checkRunId: Number(check.id),
      pullNumber: pull?.number ?? null,
      forbiddenIds,
      approvers: new Map(),
      closed: false,
    });
    if (pull)
      await octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        owner,
        repo,
        issue_number: pull.number,
        body: requestComment(request),
      });
  }

  async function findCheckRun(
    octokit: ProbotOctokit,
    owner: string,
    repo: string,
    request: ApprovalRequestedMessage,
  ): Promise<number | null> {
    const { data } = await octokit.request('GET /repos/{owner}/{repo}/commits/{ref}/check-runs', {
      owner,
      repo,
      ref: request.binding.sha,
      check_name: checkName(request),
      filter: 'latest',
    });
    const run = data.check_runs.find((c) => c.external_id === request.id);
    return run ? Number(run.id) : null;
  }

  async function rebuild(
    view: ApprovalView,
    answer: ReviewAnswer,
    octokit: ProbotOctokit,
  ): Promise<ApprovalCase | null> {
    if (!view.binding || !view.policy) return null;
    const request: ApprovalRequestedMessage = {
      type: 'approval.requested',
      id: view.id,
      sessionId: view.sessionId,
      connection: view.connection,
      statement: view.statement,
      statementHash: view.statementHash,
      rule: view.rule,
      reason: '',
      requestedAt: view.requestedAt,
      expiresAt: view.expiresAt,
      approveUrl: '',
      approveCommand: approveCommandFor(view.id),
      binding: view.binding,
      policy: view.policy,
    };
    const [owner = '', repo = ''] = view.binding.repository.split('/');
    const pull = await findPull(octokit, owner, repo, view.binding);
    const forbiddenIds = await forbiddenIdsOf(octokit, owner, repo, request, pull?.authorId ?? null);
    const checkRunId = await findCheckRun(octokit, owner, repo, request);
    return {
      request,
      owner,
      repo,
      installationId: answer.installationId,
      checkRunId,
      pullNumber: pull?.number ?? null,
      forbiddenIds,
      approvers: new Map(),
      closed: false,
    };
  }

  async function reply(
    octokit: ProbotOctokit,
    found: { owner: string; repo: string; pullNumber: number | null },
    answer: ReviewAnswer,
    body: string,
  ): Promise<void> {
    const issue = found.pullNumber ?? answer.replyTo;
    if (issue === null) return;
    await octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
      owner: found.owner,
      repo: found.repo,
      issue_number: issue,
      body,
    });
  }

  async function complete(
    octokit: ProbotOctokit,
    found: ApprovalCase,
    status: ApprovalStatus,
    detail: string,
  ): Promise<void> {
    found.closed = true;
    state.delete(found.request.id);
    if (found.checkRunId === null) return;
    await octokit.request('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
      owner: found.owner,
      repo: found.repo,
      check_run_id: found.checkRunId,
      status: 'completed',
      conclusion: CONCLUSIONS[status],
      completed_at: new Date().toISOString(),
      output: { title: `Approval ${status}: ${found.request.connection} (${found.request.rule})`, summary: detail },
      actions: [],
    });
  }

  async function onAnswer(octokit: ProbotOctokit, answer: ReviewAnswer): Promise<void> {
    const [answerOwner = '', answerRepo = ''] = answer.repository.split('/');
    const here = { owner: answerOwner, repo: answerRepo, pullNumber: null };
    let found = state.get(answer.id) ?? null;
    if (!found) {
      const view = await gateway.getApproval(answer.id);
      if (view.status !== 200)
        return reply(octokit, here, answer, `Gatehouse: ${view.body.message ?? `approval ${answer.id} is unknown`}.`);
      if (view.body.status !== 'pending')
        return reply(octokit, here, answer, `Gatehouse: approval \`${answer.id}\` is already ${view.body.status}.`);
      if (view.body.binding?.repository.toLowerCase() !== answer.repository.toLowerCase()) {
        return reply(
          octokit,
          here,
          answer,
          `Gatehouse: approval \`${answer.id}\` belongs to another repository; answer it there.`,
        );
      }
      found = await rebuild(view.body, answer, octokit);
      if (!found)
        return reply(
          octokit,
          here,
          answer,
          `Gatehouse: approval \`${answer.id}\` has no reviewer settings and cannot be answered here.`,
        );
      state.set(answer.id, found);
    }
    const boundId = found.request.binding.repositoryId;
    if (
      found.request.binding.repository.toLowerCase() !== answer.repository.toLowerCase() ||
      (boundId !== '' && boundId !== String(answer.repositoryId))
    ) {
      return reply(
        octokit,
        here,
        answer,
        `Gatehouse: approval \`${answer.id}\` belongs to another repository; answer it there.`,
      );
    }
    if (found.closed) return reply(octokit, found, answer, `Gatehouse: approval \`${answer.id}\` is already decided.`);
    const verdict = await checkReviewer(
      octokit,
      { owner: found.owner, repo: found.repo },
      answer.reviewer,
      found.request.policy,
      found.forbiddenIds,
      answer.verb,
    );
    if (!verdict.ok) return reply(octokit, found, answer, `Gatehouse: not accepted. ${verdict.why}.`);

    let by: string[];
    if (answer.verb === 'approve') {
      found.approvers.set(answer.reviewer.id, answer.reviewer.login);
      const needed = found.request.policy.approvals;
      if (found.approvers.size < needed) {
        return reply(
          octokit,
          found,
          answer,
          `Gatehouse: approval from @${answer.reviewer.login} recorded (${found.approvers.size} of ${needed}); ${needed - found.approvers.size} more needed.`,
        );
      }
      by = [...found.approvers.values()];
    } else {
      by = [answer.reviewer.login];
    }
    const { binding, statementHash } = found.request;
    const sent = await gateway.decide({
      id: answer.id,
      approved: answer.verb === 'approve',
      by,
      ...(answer.reason ? { reason: answer.reason } : {}),
      statementHash,
      sha: binding.sha,
      runId: binding.runId,
      runAttempt: binding.runAttempt,
    });
    if (sent.status !== 200) {
      await reply(
        octokit,
        found,
        answer,
        `Gatehouse: the gateway did not accept the answer: ${sent.body.message ?? `HTTP ${sent.status}`}.`,
      );
      if (sent.status === 409 || sent.status === 404) {
        const now = await gateway.getApproval(answer.id).catch(() => null);
        const status = now?.status === 200 && now.body.status !== 'pending' ? now.body.status : 'cancelled';
        if (now?.status !== 200 || now.body.status !== 'pending')
          await complete(octokit, found, status, sent.body.message ?? 'no longer pending');
      }
      return;
    }
    const names = by.map((b) => `@${b}`).join(', ');
    const text =
      answer.verb === 'approve'
        ? `Approved by ${names}; the statement on \`${found.request.connection}\` runs now.`
        : `Denied by ${names}${answer.reason ? `: ${answer.reason}` : ''}; the statement on \`${found.request.connection}\` was refused.`;
    await reply(octokit, found, answer, `Gatehouse: ${text}`);
    await complete(octokit, found, answer.verb === 'approve' ? 'approved' : 'denied', text);
  }

  async function onResolved(message: ApprovalResolvedMessage): Promise<void> {
    const found = state.get(message.id);
    if (!found || found.closed) return;
    const octokit = await app.auth(found.installationId);
    const text = `Approval \`${message.id}\` is ${message.status}${message.reason ? ` (${message.reason})` : ''}${message.decidedBy.length ? ` by ${message.decidedBy.join(', ')}` : ''}.`;
    if (found.pullNumber !== null) {
      await octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        owner: found.owner,
        repo: found.repo,
        issue_number: found.pullNumber,
        body: `Gatehouse: ${text}`,
      });
    }
    await complete(octokit, found, message.status, text);
  }

  return { onRequested, onResolved, onAnswer };
}

export type ApprovalFlow = ReturnType<typeof createApprovalFlow>;

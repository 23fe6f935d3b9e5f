import type { ApplicationFunction, Probot } from 'probot';
import { createApprovalFlow } from './approval-flow.ts';
import { createMemoryApprovalState, type ApprovalStateStore } from './approval-state.ts';
import { parseReviewCommand } from './commands.ts';
import { createGatewayClient, type GatewayClient } from './gateway-client.ts';
import { postJobAudit } from './job-audit.ts';
import { createNotifyHandler } from './notify-handler.ts';

/** What the app needs besides Probot's own credentials: the gateway and the secret it shares with it. */
export interface GatehouseAppSettings {
  gatewayUrl: string;
  /** The gateway's `approvals.secret`. */
  secret: string;
  now?: () => Date;
  fetch?: typeof globalThis.fetch;
  state?: ApprovalStateStore;
  /** Replaces the HTTP gateway client (the gateway runs the app in-process, or tests). */
  gateway?: GatewayClient;
}

/**
 * Builds the Probot app: approval requests from the gateway become a check run with Approve/Deny
 * buttons and a PR comment; `/gatehouse approve|deny` comments and the buttons answer them;
 * finished jobs get their sessions' audit check runs.
 */
export function createGatehouseApp(settings: GatehouseAppSettings): ApplicationFunction {
  return (app: Probot, options) => {
    const gateway =
      settings.gateway ??
      createGatewayClient({
        gatewayUrl: settings.gatewayUrl,
        secret: settings.secret,
        now: settings.now,
        fetch: settings.fetch,
      });
    const flow = createApprovalFlow({ app, gateway, state: settings.state ?? createMemoryApprovalState() });

    options.addHandler(
      createNotifyHandler({
        secret: settings.secret,
        now: settings.now,
        onMessage: (message) =>
          message.type === 'approval.requested' ? flow.onRequested(message) : flow.onResolved(message),
        onError: (error) => app.log.error({ err: error }, 'gatehouse: could not handle an approval message'),
      }),
    );

    answerByComment(app, flow);
    answerByButton(app, flow);

    app.on('workflow_job.completed', async (context) => {
      const { workflow_job: job, repository } = context.payload;
      await postJobAudit(context.octokit, gateway, {
        owner: repository.owner.login,
        repo: repository.name,
        jobId: job.id,
        runId: job.run_id,
        runAttempt: job.run_attempt,
        headSha: job.head_sha,
      });
    });
  };
}

type ApprovalFlow = ReturnType<typeof createApprovalFlow>;

/** `/gatehouse approve <id>` or `/gatehouse deny <id> <reason>` in a PR comment (bots ignored). */
function answerByComment(app: Probot, flow: ApprovalFlow): void {
  app.on('issue_comment.created', async (context) => {
    const { comment, issue, repository, installation } = context.payload;
    if (comment.user?.type === 'Bot' || !installation) return;
    const command = parseReviewCommand(comment.body);
    if (!command || !comment.user) return;
    await flow.onAnswer(context.octokit, {
      id: command.id,
      verb: command.verb,
      reason: command.verb === 'deny' ? command.reason : null,
      reviewer: { id: comment.user.id, login: comment.user.login },
      repository: repository.full_name,
      repositoryId: repository.id,
      installationId: installation.id,
      replyTo: issue.number,
    });
  });
}

/** The Approve/Deny buttons of the approval's check run. */
function answerByButton(app: Probot, flow: ApprovalFlow): void {
  app.on('check_run.requested_action', async (context) => {
    const { check_run: checkRun, requested_action: action, sender, repository, installation } = context.payload;
    const verb = action?.identifier;
    if ((verb !== 'approve' && verb !== 'deny') || !checkRun.external_id || !installation) return;
    await flow.onAnswer(context.octokit, {
      id: checkRun.external_id,
      verb,
      reason: verb === 'deny' ? 'denied with the check run button' : null,
      reviewer: { id: sender.id, login: sender.login },
      repository: repository.full_name,
      repositoryId: repository.id,
      installationId: installation.id,
      replyTo: checkRun.pull_requests[0]?.number ?? null,
    });
  });
}

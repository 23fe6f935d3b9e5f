import type { ProbotOctokit } from 'probot';
import type { GatewayClient } from './gateway-client.ts';
import { auditCheckOutput, summarize } from './render.ts';

/** The part of a `workflow_job.completed` payload the audit needs. */
export interface CompletedJob {
  owner: string;
  repo: string;
  jobId: number;
  runId: number;
  runAttempt: number;
  headSha: string;
}

/**
 * When a job ends: the gateway closes the job's sessions, then each session gets a check run on
 * the job's commit with its summary and masked log. Denied statements make the check fail.
 */
export async function postJobAudit(octokit: ProbotOctokit, gateway: GatewayClient, job: CompletedJob): Promise<number> {
  const closed = await gateway.closeJob({
    repository: `${job.owner}/${job.repo}`,
    runId: String(job.runId),
    runAttempt: String(job.runAttempt),
    jobId: String(job.jobId),
  });
  if (closed.status !== 200)
    throw new Error(
      `the gateway refused to close the job's sessions: ${closed.body.message ?? `HTTP ${closed.status}`}`,
    );
  let posted = 0;
  for (const session of closed.body.sessions) {
    const log = await gateway.sessionLog(session.id);
    if (log.status === 404) continue;
    if (log.status !== 200)
      throw new Error(
        `the gateway did not return the log of session ${session.id}: ${log.body.message ?? `HTTP ${log.status}`}`,
      );
    const output = auditCheckOutput(log.body, session.connections, session.logUrl);
    await octokit.request('POST /repos/{owner}/{repo}/check-runs', {
      owner: job.owner,
      repo: job.repo,
      name: `gatehouse / ${session.connections.join(', ') || session.id}`,
      head_sha: job.headSha,
      status: 'completed',
      conclusion: summarize(log.body).denied > 0 ? 'failure' : 'success',
      completed_at: new Date().toISOString(),
      details_url: session.logUrl,
      external_id: session.id,
      output,
    });
    posted++;
  }
  return posted;
}

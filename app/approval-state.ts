import type { ApprovalRequestedMessage } from '../wire/approvals.ts';

/**
 * What the app remembers about one open approval: where it was posted, who may not approve it,
 * and who already did. N-of-M approvals count distinct GitHub user ids.
 */
export interface ApprovalCase {
  request: ApprovalRequestedMessage;
  owner: string;
  repo: string;
  installationId: number;
  checkRunId: number | null;
  pullNumber: number | null;
  /** User ids that may never approve this request: the run's actor, triggering actor and the PR's author. */
  forbiddenIds: Set<number>;
  /** Approvals so far, by user id → login. */
  approvers: Map<number, string>;
  closed: boolean;
}

/**
 * Where the app keeps open approvals. Memory by default; after an app restart a case is rebuilt
 * from the gateway (`GET /v1/approvals/:id`), and approvals given before the restart are asked for again.
 */
export interface ApprovalStateStore {
  get(id: string): ApprovalCase | undefined;
  set(id: string, value: ApprovalCase): void;
  delete(id: string): void;
}

export function createMemoryApprovalState(): ApprovalStateStore {
  const cases = new Map<string, ApprovalCase>();
  return {
    get: (id) => cases.get(id),
    set: (id, value) => void cases.set(id, value),
    delete: (id) => void cases.delete(id),
  };
}

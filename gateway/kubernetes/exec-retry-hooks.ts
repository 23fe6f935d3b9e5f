import type { HttpProxyHooks } from '../http-adapter/proxy-types.ts';
import type { HttpRefusal } from '../http-adapter/refusal.ts';
import { execKey, ExecRetryMemory } from './exec-retry-memory.ts';
import type { KubeClient } from './kube-hooks.ts';
import { kubeStatusBody } from './kube-status.ts';
import { checkKubePath } from './request-path.ts';

type RetryHooks = Required<Pick<HttpProxyHooks<unknown, KubeClient>, 'upgradeRefused' | 'otherUpgrade'>>;

/** Sessions whose memory is kept at once; the oldest is forgotten beyond this. */
const MAX_SESSIONS = 1024;

/**
 * kubectl's SPDY retry of a refused WebSocket exec, on the proxy's upgrade hooks: a refused
 * upgrade is remembered per session (kubectl retries on a new connection), and the SPDY attempt
 * that follows gets the same refusal once, as a `Status` kubectl prints, instead of a second
 * decision (or a second approval request). A SPDY upgrade with no refusal before it is told to
 * use a kubectl that speaks WebSocket.
 */
export function createExecRetryHooks(now: () => number): RetryHooks {
  const memories = new Map<string, ExecRetryMemory>();
  const memoryOf = (sessionId: string): ExecRetryMemory => {
    let memory = memories.get(sessionId);
    if (!memory) {
      if (memories.size >= MAX_SESSIONS) memories.delete(memories.keys().next().value!);
      memories.set(sessionId, (memory = new ExecRetryMemory(now)));
    }
    return memory;
  };
  return {
    upgradeRefused(request, client, refusal, _rule, hint) {
      const path = checkKubePath(
        `${request.target.path}${request.target.rawQuery ? `?${request.target.rawQuery}` : ''}`,
      );
      if (!path.ok) return;
      const message = hint ? `${refusal.message} (${hint})` : refusal.message;
      memoryOf(client.session.sessionId).rememberRefusal(
        execKey(path.value.path, path.value.query),
        refusal.status,
        message,
      );
    },
    otherUpgrade(target, client) {
      const path = checkKubePath(target);
      const answer = path.ok
        ? memoryOf(client.session.sessionId).answerSpdy(execKey(path.value.path, path.value.query))
        : { status: path.refusal.status, message: path.refusal.message, repeated: false };
      const refusal: HttpRefusal = { status: answer.status, code: 'k8s.spdy', message: answer.message };
      return { refusal, body: kubeStatusBody(answer.status, answer.message, { code: refusal.code }) };
    },
  };
}

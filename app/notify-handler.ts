import type { IncomingMessage, ServerResponse } from 'node:http';
import { APP_NOTIFY_PATH, APPROVAL_HEADERS, verifyMessage, type ApprovalMessage } from '../wire/approvals.ts';

const MAX_BODY_BYTES = 256 * 1024;

/**
 * The app's endpoint for the gateway's signed approval messages. Answers 2xx only once the
 * message is handled, so the gateway's retries cover GitHub being briefly unavailable.
 */
export function createNotifyHandler(options: {
  secret: string;
  now?: () => Date;
  onMessage: (message: ApprovalMessage) => Promise<void>;
  onError?: (error: unknown) => void;
}): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const now = options.now ?? (() => new Date());
  return async (req, res) => {
    if (new URL(req.url ?? '/', 'http://app').pathname !== APP_NOTIFY_PATH) return false;
    if (req.method !== 'POST') return answer(res, 405, 'use POST');
    const body = await readBody(req);
    if (body === null) return answer(res, 413, 'body too large');
    const check = verifyMessage(
      options.secret,
      body,
      {
        timestamp: first(req.headers[APPROVAL_HEADERS.timestamp]),
        signature: first(req.headers[APPROVAL_HEADERS.signature]),
      },
      now(),
    );
    if (!check.ok) return answer(res, 401, check.problem);
    let message: ApprovalMessage;
    try {
      message = JSON.parse(body) as ApprovalMessage;
    } catch {
      return answer(res, 400, 'body is not JSON');
    }
    if (message?.type !== 'approval.requested' && message?.type !== 'approval.resolved')
      return answer(res, 400, 'unknown message type');
    try {
      await options.onMessage(message);
    } catch (error) {
      options.onError?.(error);
      return answer(res, 502, 'could not post to GitHub; retry');
    }
    return answer(res, 202, 'accepted');
  };
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function answer(res: ServerResponse, status: number, message: string): true {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ message }));
  return true;
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(null));
  });
}

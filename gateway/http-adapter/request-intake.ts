import type { IncomingMessage } from 'node:http';
import type { HttpBodyFacts } from '../policy/actions-and-decisions.ts';
import { isJsonType, parseMediaType } from './media-type.ts';
import type { HttpLimits, ProxiedRequest } from './proxy-types.ts';
import { refuse, type Checked } from './refusal.ts';
import { requestBodyFacts, type GatheredBody } from './request-body-facts.ts';
import { checkRequestHead } from './request-head.ts';
import { checkRequestTarget } from './request-target.ts';

/**
 * Turns what Node parsed into a {@link ProxiedRequest}, or the refusal to send: the head and the
 * target are checked, an announced body over the limit is refused before it is read, and a JSON
 * body is gathered (up to `gatherBodyBytes`) so policy can test its fields. Other bodies stay
 * unread until the verdict: nothing of them reaches the target before it.
 */
export async function intakeRequest(
  req: IncomingMessage,
  limits: HttpLimits,
  upgrade: boolean,
): Promise<Checked<ProxiedRequest>> {
  const head = checkRequestHead({
    method: req.method ?? '',
    url: req.url ?? '',
    httpVersion: req.httpVersion,
    rawHeaders: req.rawHeaders,
  });
  if (!head.ok) return head;
  const target = checkRequestTarget(head.value.url);
  if (!target.ok) return target;
  const { contentLength } = head.value;
  if (contentLength !== undefined && contentLength > limits.maxBodyBytes)
    return refuse(413, 'http.body-too-large', `the request body is larger than ${limits.maxBodyBytes} bytes`);
  if (upgrade && head.value.body !== 'none')
    return refuse(400, 'http.upgrade-body', 'an upgrade request must not carry a body');
  const contentType = head.value.headers.get('content-type')?.[0];
  const media = parseMediaType(contentType);
  let gathered: GatheredBody | null = null;
  let body: HttpBodyFacts = { kind: 'none' };
  if (head.value.body !== 'none') {
    if (media !== null && isJsonType(media.essence)) {
      gathered = await gatherBody(req, limits.gatherBodyBytes);
      body = requestBodyFacts(gathered, media, head.value.headers.get('content-encoding')?.[0]);
    } else body = { kind: 'unreadable', reason: `the body is not JSON (${media?.essence ?? 'no Content-Type'})` };
  }
  return {
    ok: true,
    value: {
      method: head.value.method,
      head: head.value,
      rawHeaders: req.rawHeaders,
      target: target.value,
      media,
      body,
      gathered,
      upgrade: upgrade ? 'websocket' : null,
    },
  };
}

/**
 * Reads the body until it ends or passes `limit`, then pauses the request: the rest (if any) is
 * forwarded after the verdict, behind what was gathered. Rejects when the client goes away.
 */
export function gatherBody(req: IncomingMessage, limit: number): Promise<GatheredBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (truncated: boolean) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.pause();
      resolve({ bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), truncated, limit });
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > limit) finish(true);
    };
    const onEnd = () => finish(false);
    const onClose = () => {
      if (!req.complete) reject(new Error('the client went away while sending the body'));
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onClose);
  });
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorBody } from '../../wire/control-api.ts';

/** Request bodies of the control API are small JSON documents; anything bigger is refused unread. */
export const BODY_LIMITS = { maxBytes: 64 * 1024 } as const;

/** Writes a JSON answer once; later calls (after an error already answered) are ignored. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.writableEnded) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Writes the control API's error shape `{error:{code,message,...}}`. */
export function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra: Partial<ErrorBody['error']> = {},
  headers: Record<string, string> = {},
): void {
  const body: ErrorBody = { error: { code, message, ...extra } };
  sendJson(res, status, body, headers);
}

/** A parsed JSON body, or the status and error to answer instead. */
export type JsonBody = { ok: true; value: unknown } | { ok: false; status: number; code: string; message: string };

/** Reads a JSON body up to `maxBytes`; never throws, never buffers more than the limit. */
export function readJsonBody(req: IncomingMessage, maxBytes: number = BODY_LIMITS.maxBytes): Promise<JsonBody> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      resolve(tooLarge(maxBytes));
      req.resume();
      return;
    }
    const type = req.headers['content-type'];
    if (type !== undefined && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
      resolve({ ok: false, status: 415, code: 'request.content-type', message: 'send the body as application/json' });
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: JsonBody) => {
      if (!done) {
        done = true;
        resolve(result);
      }
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBytes) {
        finish(tooLarge(maxBytes));
        req.resume();
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        finish({ ok: true, value: JSON.parse(text) });
      } catch {
        finish({ ok: false, status: 400, code: 'request.json', message: 'the body is not valid JSON' });
      }
    });
    req.on('error', () =>
      finish({ ok: false, status: 400, code: 'request.aborted', message: 'the request body was cut off' }),
    );
  });
}

function tooLarge(maxBytes: number): JsonBody {
  return {
    ok: false,
    status: 413,
    code: 'request.too-large',
    message: `the body is over ${maxBytes} bytes; send only the fields this route documents`,
  };
}

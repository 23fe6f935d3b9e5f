import zlib from 'node:zlib';
import type { TextMasker } from '../http-adapter/json-masker.ts';
import type { HeaderPairs } from '../http-adapter/header-hygiene.ts';
import type { HttpProxyHooks, ProxiedRequest, ResponseBodyHandling } from '../http-adapter/proxy-types.ts';
import type { HttpRefusal } from '../http-adapter/refusal.ts';
import type { ResponseSummary } from '../http-adapter/response-plan.ts';
import type { SessionContext } from '../identity/session-context.ts';
import type { EnforcementContext } from '../enforcement/enforcer.ts';
import type { K8sRequestAction } from '../policy/actions-and-decisions.ts';
import { maskExecMessage } from './exec-message.ts';
import { createExecRetryHooks } from './exec-retry-hooks.ts';
import { kubeRequestEvent } from './kube-event.ts';
import { isStrippedKubeHeader, rewriteAccept } from './kube-headers.ts';
import { classifyKubeRequest, type ClassifiedKubeRequest } from './kube-request.ts';
import { kubeStatusBody } from './kube-status.ts';
import type { MaskText } from './object-masking.ts';
import type { KubeCredential } from './kube-target.ts';
import { kubeResponseMasking } from './response-masking.ts';

/** One client stream of a Kubernetes connection: whose it is and how the core sees it. */
export interface KubeClient {
  session: SessionContext;
  context: EnforcementContext;
}

/** What the hooks of one connection are built from. */
export interface KubeHookSettings {
  connection: string;
  credential: KubeCredential;
  /** The connection's content detectors, its own credential included. */
  detectors: TextMasker;
  now(): number;
}

/** The hooks plus the classification each request got (the exchange reads it back for masking and audit). */
export interface KubeHooks extends HttpProxyHooks<K8sRequestAction, KubeClient> {
  classified(request: ProxiedRequest): ClassifiedKubeRequest | undefined;
}

function headerRecord(request: ProxiedRequest): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[]> = {};
  for (const [name, values] of request.head.headers) out[name] = values.length === 1 ? values[0]! : [...values];
  return out;
}

const unreadable = (what: string): ResponseBodyHandling => ({
  kind: 'plan',
  plan: {
    kind: 'refuse',
    refusal: {
      status: 502,
      code: 'k8s.response-unmaskable',
      message: `the API server answered with ${what}, which gatehouse cannot mask, so it is not passed on`,
    },
  },
});

function decoderFor(encoding: string | undefined): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | null | false {
  const value = (encoding ?? '').trim().toLowerCase();
  if (value === '' || value === 'identity') return null;
  if (value === 'gzip' || value === 'x-gzip') return zlib.createGunzip();
  if (value === 'deflate') return zlib.createInflate();
  if (value === 'br') return zlib.createBrotliDecompress();
  return false;
}

/**
 * The Kubernetes protocol on the HTTP proxy: each request classified as the API server would
 * (RequestInfo, body facts, markers) into a `k8s.request` action; the client's Authorization and
 * Impersonate-* headers never reach the server and the gateway's credential is added; `Accept`
 * offers JSON only; responses masked as Kubernetes documents (Secrets, last-applied, detectors),
 * watch streams event by event, protobuf and other unreadable bodies refused; exec frames masked;
 * refusals answered as a `Status`.
 */
export function createKubeHooks(settings: KubeHookSettings): KubeHooks {
  const seen = new WeakMap<ProxiedRequest, ClassifiedKubeRequest>();
  const maskText = (text: string) => settings.detectors.maskText(text);
  return {
    ...createExecRetryHooks(settings.now),
    classified: (request) => seen.get(request),
    deriveAction(request, client) {
      const rawTarget = `${request.target.path}${request.target.rawQuery ? `?${request.target.rawQuery}` : ''}`;
      const gathered = request.gathered;
      const classified = classifyKubeRequest(
        {
          method: request.method,
          target: rawTarget,
          headers: headerRecord(request),
          body: gathered ? { bytes: gathered.bytes, complete: !gathered.truncated } : null,
        },
        maskText,
      );
      if (!classified.ok) return classified;
      const value = classified.value;
      seen.set(request, value);
      const action: K8sRequestAction = {
        type: 'k8s.request',
        connection: settings.connection,
        identity: client.session.identity,
        facts: value.facts,
        discovery: value.discovery,
      };
      const event = kubeRequestEvent(settings.connection, request, value, settings.detectors);
      return { ok: true, value: { action, text: value.text, shown: value.shown, event } };
    },
    dropRequestHeader: isStrippedKubeHeader,
    rewriteRequestHeaders(headers: HeaderPairs): HeaderPairs {
      const out: HeaderPairs = [];
      let accept: string | undefined;
      for (const [name, value] of headers) {
        if (name.toLowerCase() === 'accept') accept = accept === undefined ? value : `${accept},${value}`;
        else out.push([name, value]);
      }
      out.push(['accept', rewriteAccept(accept)]);
      if (settings.credential.kind === 'bearer') out.push(['authorization', `Bearer ${settings.credential.token()}`]);
      return out;
    },
    responseBody: (summary, request) => kubeResponseBody(summary, seen.get(request), maskText),
    targetMessage: (data, isBinary) => maskExecMessage(data, isBinary, maskText),
    refusalBody(refusal: HttpRefusal, rule?: string, hint?: string) {
      return kubeStatusBody(refusal.status, refusal.message, {
        code: refusal.code,
        ...(rule ? { rule } : {}),
        ...(hint ? { hint } : {}),
      });
    },
  };
}

/** The masking of one response: by what was asked (a watch) and what came back (JSON, text); anything else refused. */
function kubeResponseBody(
  summary: ResponseSummary,
  classified: ClassifiedKubeRequest | undefined,
  maskText: MaskText,
): ResponseBodyHandling {
  const { status } = summary;
  if (summary.method === 'HEAD' || status < 200 || status === 204 || status === 304)
    return { kind: 'plan', plan: { kind: 'empty' } };
  if (summary.contentLength?.trim() === '0') return { kind: 'plan', plan: { kind: 'empty' } };
  if (!classified) return unreadable('a body for a request it did not classify');
  const masking = kubeResponseMasking(classified.info, summary.contentType, maskText);
  if (!masking) return unreadable(`Content-Type '${(summary.contentType ?? 'none').slice(0, 60)}'`);
  const decoder = decoderFor(summary.contentEncoding);
  if (decoder === false) return unreadable(`Content-Encoding '${summary.contentEncoding?.slice(0, 40)}'`);
  const tally = () => {
    const c = masking.counts();
    return { fields: c.secretValues + c.lastApplied, detected: c.detected };
  };
  return { kind: 'streams', streams: decoder ? [decoder, ...masking.streams] : masking.streams, tally };
}

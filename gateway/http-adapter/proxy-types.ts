import type { Transform } from 'node:stream';
import type { DeadlineSettings } from './client-deadlines.ts';
import type { GatheredBody } from './request-body-facts.ts';
import type { HeaderPairs } from './header-hygiene.ts';
import type { HttpBodyFacts } from '../policy/actions-and-decisions.ts';
import type { MediaType } from './media-type.ts';
import type { Checked, HttpRefusal } from './refusal.ts';
import type { CheckedHead } from './request-head.ts';
import type { RequestTarget } from './request-target.ts';
import type { BodyPlan, HttpMaskingRules, ResponseSummary } from './response-plan.ts';
import type { UpstreamTarget } from './upstream.ts';

/**
 * One client request after every check, as hooks and policy see it. The body, when the decision
 * may depend on it (a JSON type), is gathered up to the limit first; the rest streams after the verdict.
 */
export interface ProxiedRequest {
  method: string;
  head: CheckedHead;
  /** Name/value pairs as the client sent them (hygiene filters them for the target). */
  rawHeaders: readonly string[];
  target: RequestTarget;
  media: MediaType | null;
  body: HttpBodyFacts;
  gathered: GatheredBody | null;
  /** `websocket` for an upgrade the proxy can relay; other upgrades never get this far. */
  upgrade: 'websocket' | null;
}

/** The verdict shape of the enforcement core, as far as the proxy reads it. */
export type ProxyVerdict =
  | { readonly allowed: true; readonly decision: { rule: string; reason: string } }
  | {
      readonly allowed: false;
      readonly code: string;
      readonly message: string;
      readonly hint?: string;
      readonly decision: { rule: string; reason: string };
    };

/** How a held request waits: aborted when its client goes away. */
export interface ProxyHold {
  signal: AbortSignal;
}

/** What the protocol decides on: the action, the text an approval binds to, and the request's audit data. */
export interface DerivedAction<A> {
  action: A;
  text: string;
  /** Reviewers see this (secrets masked). */
  shown: string;
  /** Data of the request's audit event (method, path, masked query, ...). */
  event: Record<string, unknown>;
}

/** How one finished exchange went, for its audit event and metrics. */
export interface ExchangeOutcome {
  status: number;
  durationMs: number;
  request: { bytes: number; sha256: string; sample: string };
  response?: { bytes: number; sha256: string; sample: string; truncated: boolean };
  masked?: { fields: number; detected: number };
  /** Set when the exchange failed after the verdict (target unreachable, body cut while masking). */
  error?: string;
  websocket?: { messagesIn: number; messagesOut: number; bytesIn: number; bytesOut: number };
}

/** A response body handled by the protocol: its own masking streams (a Kubernetes Secret masker), or a plan. */
export type ResponseBodyHandling =
  | { kind: 'streams'; streams: Transform[]; tally(): { fields: number; detected: number } }
  | { kind: 'plan'; plan: BodyPlan };

/**
 * What a protocol built on the HTTP proxy supplies: the HTTP adapter turns requests into
 * `http.request` actions; the Kubernetes adapter into `k8s.request` actions, drops impersonation
 * headers, masks Secrets and relays exec frames. Every hook but `deriveAction` is optional.
 */
export interface HttpProxyHooks<A, C> {
  /** The action to enforce for a checked request; a refusal answers it (400/403) without enforcing. */
  deriveAction(request: ProxiedRequest, client: C): Checked<DerivedAction<A>>;
  /** Extra client headers the target must not get (the hygiene list applies first). */
  dropRequestHeader?(lowerName: string): boolean;
  /** Last word on the target's request headers (rewrite `Accept`, add a header). */
  rewriteRequestHeaders?(headers: HeaderPairs, request: ProxiedRequest): HeaderPairs;
  /** A protocol-specific response body treatment; undefined falls back to the content-type plan. */
  responseBody?(
    response: ResponseSummary,
    request: ProxiedRequest,
    rules: HttpMaskingRules,
  ): ResponseBodyHandling | undefined;
  /** A WebSocket message from the target, before the client (and the record) sees it. Default: content detectors. */
  targetMessage?(data: Buffer, isBinary: boolean, request: ProxiedRequest): Buffer;
  /** A WebSocket message from the client, before the target sees it (Kubernetes: stdin recording). */
  clientMessage?(data: Buffer, isBinary: boolean, request: ProxiedRequest): Buffer;
  /** The body of a refusal (default `{ "error": { code, message, rule, hint } }` as JSON). */
  refusalBody?(refusal: HttpRefusal, rule?: string, hint?: string): { contentType: string; body: string };
  /** A WebSocket upgrade was refused (Kubernetes: remembered for kubectl's SPDY retry of the same exec). */
  upgradeRefused?(request: ProxiedRequest, client: C, refusal: HttpRefusal, rule?: string, hint?: string): void;
  /**
   * The answer to an upgrade other than WebSocket (SPDY, h2c), which is never relayed; default: 501
   * naming the protocols that are. `target` is the request target as sent.
   */
  otherUpgrade?(target: string, client: C): { refusal: HttpRefusal; body: { contentType: string; body: string } };
}

/** Size and time limits of one connection's requests. */
export interface HttpLimits {
  /** Largest request head (Node's maxHeaderSize). */
  maxHeaderBytes: number;
  /** Largest request body forwarded. */
  maxBodyBytes: number;
  /** Request bodies gathered for body facts up to this size; longer bodies are `unreadable` to policy. */
  gatherBodyBytes: number;
  /** Bytes of each body kept as the audit sample. */
  sampleBytes: number;
  deadlines: DeadlineSettings;
}

export const DEFAULT_HTTP_LIMITS = {
  maxHeaderBytes: 16 * 1024,
  maxBodyBytes: 64 * 1024 * 1024,
  gatherBodyBytes: 1024 * 1024,
  sampleBytes: 2048,
  deadlines: { headersMs: 10_000, bodyMs: 120_000, idleMs: 65_000 },
} as const satisfies HttpLimits;

/** Everything the proxy needs about one client stream's connection. */
export interface ProxyConnection {
  upstream: UpstreamTarget;
  masking: HttpMaskingRules;
  limits: HttpLimits;
}

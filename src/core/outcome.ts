/**
 * What happened to a request and to each upstream call of it: the records the pool fills in
 * and every mechanism and observer reads. Types only.
 */
import type { PoolError, ProviderError } from "./errors.js";
import type { RateLimitInfo, TokenUsage } from "./provider.js";

/** Why an upstream call was made: the request's first call, a retry, or a fallback. */
export type CallRole = "first" | "retry" | "fallback";

/** How one upstream call ended. */
export interface CallOutcome {
  ok: boolean;
  /** Whole call, ms. */
  latencyMs: number;
  /** Streams: time to first token, ms. */
  ttftMs?: number;
  usage?: TokenUsage;
  costUsd?: number;
  error?: ProviderError;
  /** Set when the caller, not the upstream, ended the call (cancel, deadline, lost race). */
  canceled?: boolean;
  /** Rate-limit headers of a successful response. */
  rateLimit?: RateLimitInfo;
}

/** Mirrors llmpool.v1.RateLimitStats. A limit of 0 means none is set. */
export interface RateLimitStatus {
  rpmLimit: number;
  rpmRemaining: number;
  rpdLimit: number;
  rpdRemaining: number;
  tpmLimit: number;
  tpmRemaining: number;
  maxConcurrency: number;
  cooldownRemainingMs: number;
  rejections: number;
}

/** One request as observers see it: filled in as it runs, complete at `requestEnded`. */
export interface RequestRecord {
  readonly requestId: string;
  readonly kind: "chat" | "stream" | "embed";
  /** Public model name the request resolved to ("" until resolved). */
  model: string;
  /** `metadata.tenant`, "" when none. */
  readonly tenant: string;
  /** Monotonic ms. */
  readonly startedAt: number;
  /** The caller's W3C trace context headers, when it sent them (tracing continues its trace). */
  readonly traceparent?: string;
  readonly tracestate?: string;
  /** Provider that answered (or was answering when it failed). */
  provider: string;
  attempts: number;
  upstreamCalls: number;
  providersTried: string[];
  retries: number;
  fallbacks: number;
  usage?: TokenUsage & { estimated: boolean };
  costUsd: number;
  latencyMs: number;
  ttftMs?: number;
  finishReason?: string;
  error?: PoolError;
}

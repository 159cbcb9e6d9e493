/**
 * Observers see every request and every upstream attempt as it happens: metrics, logs and
 * the cost ledger are observers, so the pool itself stays free of them.
 */
import type { CallOutcome, CallRole, Endpoint } from "./endpoint.js";
import type { PoolError } from "../core/errors.js";
import type { TokenUsage } from "../core/provider.js";
import type { EndpointView, PickContext, Strategy } from "../balancer/strategy.js";

export interface RequestRecord {
  readonly requestId: string;
  readonly kind: "chat" | "stream";
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

export interface PoolObserver {
  requestStarted?(r: RequestRecord): void;
  /** The strategy chose `chosen` among `candidates` (debug logging of selection decisions). */
  picked?(r: RequestRecord, candidates: readonly EndpointView[], chosen: EndpointView, strategy: Strategy, ctx: PickContext): void;
  attemptStarted?(r: RequestRecord, endpoint: Endpoint, role: CallRole): void;
  attemptEnded?(r: RequestRecord, endpoint: Endpoint, outcome: CallOutcome): void;
  /** Called once per request; `r.error` is set when it failed. */
  requestEnded?(r: RequestRecord): void;
}

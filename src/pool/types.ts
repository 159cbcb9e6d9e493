/**
 * What the pool takes and gives per request: the call context from the server, the unary
 * answer, and stream chunks (fields match StreamChatResponse).
 */
import type { Cancel } from "../util/cancel.js";
import type { ChatResult, ServedBy, TokenUsage, ToolCallDeltaOut } from "../core/provider.js";

export interface CallContext {
  /** Aborts on client cancel or deadline (connect's handler signal, or the fast path's CallAbort). */
  signal: Cancel;
  requestId: string;
  /** Provider named by the `x-llmpool-provider` header. */
  preferredProvider?: string;
  /** Time left until the caller's deadline, ms, when it set one (bounds waits and backoff). */
  timeoutMs?: number;
  /** The caller's W3C `traceparent` (and `tracestate`) header, for tracing observers. */
  traceparent?: string;
  tracestate?: string;
}

export interface ChatOutput {
  requestId: string;
  provider: string;
  result: ChatResult;
  usage: TokenUsage & { estimated: boolean };
  attempts: number;
  upstreamCalls: number;
  latencyMs: number;
  costUsd: number;
  providersTried: string[];
  /** The pool's choice down to the member that answered (ChatResponse.served_by). */
  servedBy: string[];
}

/** ChatResponse.served_by: the endpoint the pool chose, then the composite path below it. */
export function servedByPath(endpoint: string, servedBy: ServedBy | undefined): string[] {
  return servedBy ? [endpoint, ...servedBy.path] : [endpoint];
}

/** One chunk for the caller; fields match StreamChatResponse. */
export interface StreamChunkOut {
  delta?: string;
  toolCalls?: ToolCallDeltaOut[];
  id?: string;
  model?: string;
  provider?: string;
  requestId?: string;
  finishReason?: string;
  rawFinishReason?: string;
  usage?: { promptTokens: number; completionTokens: number; totalTokens: number; cachedTokens: number; estimated: boolean };
  attempts?: number;
  upstreamCalls?: number;
  costUsd?: number;
  ttftMs?: number;
  latencyMs?: number;
  /** Last chunk: ChatResponse.served_by. */
  servedBy?: string[];
  /** Set on the chunk announcing that another provider continues the answer. */
  failover?: { attempt: number; offset: number; fromProvider: string; toProvider: string; reason: string };
  /** Set on the chunk announcing that another provider starts the answer over (discard what came before). */
  restart?: { attempt: number; discarded: number; fromProvider: string; toProvider: string; reason: string };
}

/** Pool-wide counters the pool and its attempts (attempts.ts) keep up to date. */
export interface PoolTotals {
  requests: number;
  successes: number;
  failures: number;
  upstreamCalls: number;
  retries: number;
  fallbacks: number;
  inFlight: number;
}

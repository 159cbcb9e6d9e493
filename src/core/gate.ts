/**
 * Gates decide whether an endpoint may take a request right now: circuit breakers, rate
 * limits, cool-downs, budgets. Each concern is one gate; the pool asks every gate while
 * choosing, and remembers why endpoints were blocked so the final error can say so
 * (UNAVAILABLE for sick providers, RESOURCE_EXHAUSTED with a retry delay for limits).
 *
 * Gates that need to know when a call starts and ends (concurrency, token reservations)
 * also implement the pool's observer interface (src/pool/observer.ts).
 */
import type { ChatRequest } from "../../gen/llmpool/v1/llmpool_pb.js";
import type { PoolError } from "./errors.js";
import type { RequestRecord } from "./outcome.js";

export interface GateBlock {
  /** "unavailable": the endpoint is unwell; "exhausted": a limit or budget stops it. */
  kind: "unavailable" | "exhausted";
  /** Short, sanitised reason, shown in errors and debug logs ("breaker open", "rpm 500 reached"). */
  reason: string;
  /** When the endpoint may take requests again, if known (ms from now). */
  retryAfterMs?: number;
}

/** What a gate may read about the request. */
export interface GateRequest {
  readonly request: ChatRequest;
  readonly record: RequestRecord;
  readonly stream: boolean;
  /** Estimated prompt tokens. */
  readonly promptTokens: number;
  /** The request's max_tokens or an estimate of the completion. */
  readonly maxTokens: number;
  /** The upstream model name the endpoint would be called with. */
  readonly upstreamModel: string;
}

/** `E` is the pool's endpoint (src/pool/endpoint.ts); core does not know its shape. */
export interface EndpointGate<E> {
  readonly name: string;
  /** undefined = may proceed. Called on the hot path: no I/O, no allocation when open. */
  check(endpoint: E, req: GateRequest, now: number): GateBlock | undefined;
}

/** Request-level admission before any endpoint is chosen (tenant budgets, global limits). */
export interface RequestGate {
  readonly name: string;
  /** A PoolError to reject the request with, or undefined to admit it. */
  admit(req: ChatRequest, record: RequestRecord): PoolError | undefined;
}

/**
 * Shared admission once an endpoint is chosen (src/state/shared-admission.ts): reserves the
 * call against limits and budgets that several replicas share, in one round trip. The pool
 * awaits it only when it returns a promise (the memory backend never does).
 */
export interface Reserver<E> {
  /**
   * undefined: start now, nothing to wait for. Otherwise resolves with the block that keeps
   * this endpoint from the call (choose again), or undefined once the call is reserved.
   * Rejects with a PoolError when the request must be refused outright.
   */
  reserve(endpoint: E, req: GateRequest): Promise<GateBlock | undefined> | undefined;
  /** A reserved call will not start after all (the caller went away): give its reservation back. */
  release(endpoint: E, record: RequestRecord): void;
}

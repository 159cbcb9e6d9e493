/**
 * The strategy contract (after grpc-js's Picker): a strategy sees a read-only view of each
 * eligible endpoint and picks one, synchronously, with no I/O and no timers. Outcomes flow
 * back into the endpoints' state, never into the strategy, except through what the views show.
 */
import type { ChatRequest } from "../../gen/llmpool/v1/llmpool_pb.js";

export interface Pricing {
  /** USD per million prompt tokens. */
  inputPer1m: number;
  /** USD per million completion tokens. */
  outputPer1m: number;
  /** USD per million cached prompt tokens. */
  cachedInputPer1m: number;
}

/** What a strategy may read about an endpoint. */
export interface EndpointView {
  readonly name: string;
  readonly type: string;
  readonly weight: number;
  readonly priority: number;
  /** Calls in flight now. */
  readonly inFlight: number;
  /** 0 means unlimited. */
  readonly maxConcurrency: number;
  /** Peak-sensitive EWMA of successful call latency (ms); 0 before the first sample. */
  readonly ewmaLatencyMs: number;
  /** EWMA of time to first token of streams (ms); 0 before the first sample. */
  readonly ewmaTtftMs: number;
  /** Recent failure share in [0, 1]. */
  readonly errorRate: number;
  /** Completed calls observed so far. */
  readonly samples: number;
  readonly pricing: Pricing;
  /** Monotonic ms of the last completed call (0 when none). */
  readonly lastCompletedAt: number;
  /** Latency percentile over the recent window (ms); undefined without samples. */
  latencyPercentile(p: number, stream: boolean): number | undefined;
}

export interface PickContext {
  readonly request: ChatRequest;
  readonly stream: boolean;
  /** Estimated prompt tokens of the request. */
  readonly promptTokens: number;
  /** The request's max_tokens, else an estimate of the completion. */
  readonly maxTokens: number;
  /** Sticky routing key, when the request has one. */
  readonly affinityKey?: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Monotonic now, ms. */
  readonly now: number;
  /** Uniform [0, 1). */
  readonly random: () => number;
  /** Prices of an endpoint for this request's model (per-model price tables). */
  pricing(endpoint: EndpointView): Pricing;
}

export interface Strategy {
  readonly name: string;
  /** Pick one of `candidates` (never empty), or undefined to decline them all. */
  pick<T extends EndpointView>(candidates: readonly T[], ctx: PickContext): T | undefined;
  /**
   * Each candidate's score as this strategy sees it, for `--log-level debug` selection logs
   * (strategies that score candidates implement it; lower is better unless documented).
   */
  scores?(candidates: readonly EndpointView[], ctx: PickContext): number[];
}

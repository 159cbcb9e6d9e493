/**
 * The strategy contract (after grpc-js's Picker): a strategy sees a read-only view of each
 * eligible endpoint and picks one, synchronously, with no I/O and no timers. Outcomes flow
 * back into the endpoints' state, never into the strategy, except through what the views show.
 */
import type { ChatRequest } from "../../gen/llmpool/v1/llmpool_pb.js";

export type { EndpointView, Pricing } from "../core/endpoint-view.js";
import type { EndpointView, Pricing } from "../core/endpoint-view.js";
import type { RaceAnswer } from "./race-scoring.js";

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
  /**
   * Set by the affinity layer (affinity.ts) for price-aware strategies: the endpoint whose
   * prompt cache likely holds this request's prefix, and how many prompt tokens it would
   * serve from that cache.
   */
  readonly cacheAffinity?: CacheAffinity;
}

/** Where a request's prompt prefix is likely cached (see PickContext.cacheAffinity). */
export interface CacheAffinity {
  readonly home: EndpointView;
  /** Estimated prompt tokens the home would bill at its cached-input price. */
  readonly cachedTokens: number;
}

/**
 * Concurrent upstream calls for one attempt (strategy `racing`; src/balancer/race-runner.ts runs
 * them). The strategy still picks each leg; this says how many and when.
 */
export interface RaceSpec {
  /** first_wins: `fanout` legs at once; hedged: a second leg only after a delay; weighted and
   * quality: `fanout` legs at once, then the best answer within `graceMs` of the first. */
  readonly mode: "first_wins" | "hedged" | "weighted" | "quality";
  /** first_wins, weighted, quality: legs started at once (>= 2). */
  readonly fanout: number;
  /** weighted, quality: how long after the first answer the others may still arrive, ms. */
  readonly graceMs: number;
  /** weighted, quality: index of the winning answer (answers in arrival order, never empty). */
  choose(answers: readonly RaceAnswer[], ctx: PickContext): number;
  /** hedged: how long to wait on the first leg (its first token, for streams) before hedging. */
  hedgeDelayMs(first: EndpointView, ctx: PickContext): number;
  /** hedged: asked once per request and before every hedge, so hedges stay within budget. */
  readonly budget: HedgeBudget;
}

/** A budget of hedged calls per request (a token bucket; see hedge-budget.ts createHedgeBudget). */
export interface HedgeBudget {
  /** A request arrived: earn its share of a hedge. */
  deposit(): void;
  /** Spend one hedge if the budget allows; false when it does not. */
  tryWithdraw(): boolean;
  /** Give back a hedge that could not be sent (no endpoint was left to send it to). */
  refund(): void;
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
  /**
   * The candidates this strategy would choose among at all (priority: the top tier). The
   * affinity layer keeps a request's home within them.
   */
  shortlist?<T extends EndpointView>(candidates: readonly T[]): readonly T[];
  /** Set by strategies that call several endpoints per attempt (racing, hedging). */
  readonly race?: RaceSpec;
  /**
   * True for strategies that price requests (cost, slo): the affinity layer then tells them
   * where the prompt is cached (ctx.cacheAffinity) instead of forcing that endpoint.
   */
  readonly priceAware?: boolean;
}

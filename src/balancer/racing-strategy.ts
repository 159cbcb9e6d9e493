/**
 * racing: several upstream calls for one attempt, the first answer wins and the others are
 * cancelled (src/balancer/race-runner.ts runs the legs; this strategy says how many and when).
 *
 *  - first_wins: `fanout` endpoints at once. Cuts latency to the best of N at N times the
 *    calls: for small, latency-critical requests.
 *  - hedged: one endpoint first; only if it has not answered (its first token, for streams)
 *    within `hedge_delay` does a second one start. With the delay at the first endpoint's own
 *    observed p95, about 5% of requests hedge and the slowest 5% stop dominating the tail.
 *    `hedge_budget` caps hedges per request (hedge-budget.ts), so load never more than doubles.
 *  - weighted: `fanout` endpoints at once; after the first answer the others get at most
 *    `grace_period_ms`, then the answer with the best score of speed and the endpoint's history
 *    wins (race-scoring.ts weightedScore). Trades up to the grace period of latency for
 *    steadier members.
 *  - quality: the same grace window; the answer the `scorer` rates highest wins (race-scoring.ts;
 *    default `longest_complete`).
 *
 * Each leg is picked by the `select` strategy among the endpoints not yet racing.
 */
import { z } from "zod";
import { createHedgeBudget } from "./hedge-budget.js";
import { answerScorer, answerScorerNames, bestAnswer, weightedScore } from "./race-scoring.js";
import { SINGLE_PICK_STRATEGIES, type StrategyName } from "./names.js";
import type { EndpointView, PickContext, RaceSpec, Strategy } from "./strategy.js";

export const RACING_MODES = ["first_wins", "hedged", "weighted", "quality"] as const;

const PERCENTILE = /^p(\d{1,2}(\.\d+)?)$/;

/** `pool.strategy_options.racing` (also a racing composite's `strategy_options.racing`). */
export const racingOptions = z.strictObject({
  /** first_wins: race `fanout` endpoints; hedged: a second endpoint only after `hedge_delay`.
   * Default first_wins (what "racing" says); hedged is the cheap way to cut tail latency. */
  mode: z
    .enum(RACING_MODES, { error: (i) => `unknown mode ${JSON.stringify(i.input)}; expected one of ${RACING_MODES.join(", ")}` })
    .default("first_wins"),
  /** first_wins, weighted, quality: endpoints called at once. Default 2: most of the gain at
   * twice the calls. */
  fanout: z.number().int("must be an integer").min(2, "must be >= 2").max(8, "must be <= 8").default(2),
  /** How each leg is chosen. Default adaptive. */
  select: z
    .enum(SINGLE_PICK_STRATEGIES, {
      error: (i) => `unknown strategy ${JSON.stringify(i.input)}; expected one of ${SINGLE_PICK_STRATEGIES.join(", ")}`,
    })
    .default("adaptive"),
  /** hedged: a fixed delay in ms, or "pNN": the first endpoint's observed NNth percentile
   * latency (time to first token for streams). Default "p95" (Dean and Barroso, "The Tail at
   * Scale": hedging at p95 cuts the tail for about 5% more calls). */
  hedge_delay: z
    .union([
      z.number().min(0, "must be >= 0"),
      z.string().regex(PERCENTILE, 'must be a number of ms or a percentile such as "p95"'),
    ])
    .default("p95"),
  /** hedged, percentile delays: completed calls an endpoint needs before its percentile is
   * trusted. Default 20. */
  hedge_delay_min_samples: z.number().int("must be an integer").min(1, "must be >= 1").default(20),
  /** hedged, percentile delays: the delay used until then. Default 1000 ms. */
  hedge_delay_fallback_ms: z.number().min(0, "must be >= 0").default(1000),
  /** hedged: hedges allowed per request, in (0, 1]. Default 0.1: at most about one request in
   * ten hedges (plus a burst of 10), whatever the upstreams do. */
  hedge_budget: z.number().gt(0, "must be > 0").max(1, "must be <= 1 (load must never more than double)").default(0.1),
  /** weighted, quality: ms after the first answer that the other legs may still answer in.
   * Default 200: enough for a close second, short enough not to undo the race. At most the
   * composite's `timeout_ms` (checked at load). */
  grace_period_ms: z.number().int("must be an integer").min(0, "must be >= 0").default(200),
  /** weighted: share of the score from this answer's own time, in [0, 1]; the rest is the
   * endpoint's latency EWMA. Default 0.5. */
  speed_weight: z.number().min(0, "must be >= 0").max(1, "must be <= 1").default(0.5),
  /** quality: the answer scorer (race-scoring.ts registerAnswerScorer). Default
   * longest_complete. */
  scorer: z
    .string()
    .refine((n) => answerScorer(n) !== undefined, {
      error: (i) => `unknown scorer ${JSON.stringify(i.input)}; expected one of ${answerScorerNames().join(", ")}`,
    })
    .default("longest_complete"),
});
export type RacingOptions = z.infer<typeof racingOptions>;

export function createRacing(opts: RacingOptions, make: (name: StrategyName) => Strategy): Strategy {
  const inner = make(opts.select);
  const fixed = typeof opts.hedge_delay === "number" ? opts.hedge_delay : undefined;
  const percentile = fixed === undefined ? Number(PERCENTILE.exec(String(opts.hedge_delay))![1]) : 0;
  const scorer = answerScorer(opts.scorer)!;
  const race: RaceSpec = {
    mode: opts.mode,
    fanout: opts.fanout,
    graceMs: opts.grace_period_ms,
    choose:
      opts.mode === "quality"
        ? (answers) => bestAnswer(answers, scorer, false)
        : (answers, ctx) => bestAnswer(answers, (a) => weightedScore(a, opts.speed_weight, ctx.stream), true),
    budget: createHedgeBudget(opts.hedge_budget),
    hedgeDelayMs(first: EndpointView, ctx: PickContext): number {
      if (fixed !== undefined) return fixed;
      if (first.samples < opts.hedge_delay_min_samples) return opts.hedge_delay_fallback_ms;
      return first.latencyPercentile(percentile, ctx.stream) ?? opts.hedge_delay_fallback_ms;
    },
  };
  return {
    name: "racing",
    race,
    priceAware: inner.priceAware,
    pick: (candidates, ctx) => inner.pick(candidates, ctx),
    shortlist: inner.shortlist && ((candidates) => inner.shortlist!(candidates)),
    scores: inner.scores && ((candidates, ctx) => inner.scores!(candidates, ctx)),
  };
}

/**
 * slo: the cheapest endpoint whose recent latency percentile (`percentile`, default p95; time
 * to first token for streams) meets `max_p95_ms`, falling back to the fastest when none
 * does. Endpoints with too few recent samples to judge (fewer than `min_samples`, or none in
 * the 60 s window because they were avoided) are "unproven": they are tried when no proven
 * endpoint meets the target, and `explore_rate` of the picks go to them otherwise, so a
 * cheap endpoint that became fast again is found. Prices include cached-token prices when
 * the affinity layer expects a prompt-cache hit (expected-cost.ts).
 */
import { z } from "zod";
import { argmin } from "./choose.js";
import { cheapest } from "./cost.js";
import { expectedCostUsd } from "./expected-cost.js";
import type { EndpointView, PickContext, Strategy } from "./strategy.js";

/** `pool.strategy_options.slo`. */
export const sloOptions = z.strictObject({
  /** The latency target in ms (time to first token for streams). Default 2000; set yours. */
  max_p95_ms: z.number().gt(0, "must be > 0").default(2000),
  /** Which percentile must meet the target. Default 95. */
  percentile: z.number().gt(0, "must be > 0").max(100, "must be <= 100").default(95),
  /** Completed calls needed before an endpoint is judged. Default 10: fewer say too little
   * about a p95. */
  min_samples: z.number().int("must be an integer").min(1, "must be >= 1").default(10),
  /** Share of picks that go to an unproven endpoint while proven ones meet the target.
   * Default 0.02. */
  explore_rate: z.number().min(0, "must be >= 0").max(1, "must be <= 1").default(0.02),
  /** Relative margin within which prices count as equal (as in cost). Default 0.02. */
  tolerance: z.number().min(0, "must be >= 0").max(10, "must be <= 10").default(0.02),
});
export type SloOptions = z.infer<typeof sloOptions>;

export function createSlo(opts: SloOptions = sloOptions.parse({})): Strategy {
  const meets: EndpointView[] = [];
  const unproven: EndpointView[] = [];
  const costs: number[] = [];
  const observed = (c: EndpointView, ctx: PickContext) =>
    c.samples >= opts.min_samples ? c.latencyPercentile(opts.percentile, ctx.stream) : undefined;

  return {
    name: "slo",
    priceAware: true,
    pick<T extends EndpointView>(candidates: readonly T[], ctx: PickContext): T | undefined {
      if (candidates.length <= 1) return candidates[0];
      meets.length = 0;
      unproven.length = 0;
      for (const c of candidates) {
        const p = observed(c, ctx);
        if (p === undefined) unproven.push(c);
        else if (p <= opts.max_p95_ms) meets.push(c);
      }
      if (unproven.length > 0 && (meets.length === 0 || ctx.random() < opts.explore_rate)) {
        return cheapest(unproven as T[], ctx, opts.tolerance, costs);
      }
      if (meets.length > 0) return cheapest(meets as T[], ctx, opts.tolerance, costs);
      return argmin(candidates, (c) => observed(c, ctx) ?? Infinity, ctx.random);
    },
    scores(candidates, ctx) {
      // Expected cost (USD) where the target is met or unproven; Infinity where it is missed.
      return candidates.map((c) => {
        const p = observed(c, ctx);
        return p !== undefined && p > opts.max_p95_ms ? Infinity : expectedCostUsd(c, ctx);
      });
    },
  };
}

/**
 * cost: the cheapest expected cost for this request (expected-cost.ts: estimated prompt
 * tokens at the input price, the likely-cached part at the cached price, `max_tokens` at the
 * output price) among the candidates the pool passes (healthy, within limits). Candidates
 * within `tolerance` of the cheapest count as equally cheap and share the traffic by load,
 * so a set of free local servers is balanced rather than one of them flooded.
 */
import { z } from "zod";
import { argmin } from "./choose.js";
import { expectedCostUsd } from "./expected-cost.js";
import type { EndpointView, PickContext, Strategy } from "./strategy.js";

/** `pool.strategy_options.cost`. */
export const costOptions = z.strictObject({
  /** Relative margin within which prices count as equal. Default 0.02 (2%): rounding in price
   * tables should not decide where traffic goes. */
  tolerance: z.number().min(0, "must be >= 0").max(10, "must be <= 10").default(0.02),
});
export type CostOptions = z.infer<typeof costOptions>;

/** The candidate among the cheapest (within tolerance) with the least load per weight. */
export function cheapest<T extends EndpointView>(
  candidates: readonly T[],
  ctx: PickContext,
  tolerance: number,
  costs: number[],
): T | undefined {
  let min = Infinity;
  for (let i = 0; i < candidates.length; i++) {
    costs[i] = expectedCostUsd(candidates[i]!, ctx);
    if (costs[i]! < min) min = costs[i]!;
  }
  const limit = min * (1 + tolerance) + 1e-15;
  return argmin(candidates, (c, i) => (costs[i]! <= limit ? (c.inFlight + 1) / c.weight : Infinity), ctx.random);
}

export function createCost(opts: CostOptions = costOptions.parse({})): Strategy {
  const buf: number[] = [];
  return {
    name: "cost",
    priceAware: true,
    pick<T extends EndpointView>(candidates: readonly T[], ctx: PickContext): T | undefined {
      if (candidates.length <= 1) return candidates[0];
      return cheapest(candidates, ctx, opts.tolerance, buf);
    },
    scores: (candidates, ctx) => candidates.map((c) => expectedCostUsd(c, ctx)),
  };
}

/**
 * fastest: the endpoint with the lowest recent latency (peak EWMA of time to first token for
 * streams, of the whole call otherwise). Endpoints never measured are tried first, and
 * `explore_rate` of the picks go to a random other candidate so a recovered endpoint is
 * noticed. Unlike adaptive it ignores load and errors: use it where latency is all that
 * matters and capacity is plentiful.
 */
import { z } from "zod";
import { argmin, latencyOf } from "./choose.js";
import type { EndpointView, PickContext, Strategy } from "./strategy.js";

/** `pool.strategy_options.fastest`. */
export const fastestOptions = z.strictObject({
  /** Share of picks sent to a random candidate to keep every estimate fresh. Default 0.05
   * (epsilon-greedy): one request in twenty keeps the estimates honest. */
  explore_rate: z.number().min(0, "must be >= 0").max(1, "must be <= 1").default(0.05),
});
export type FastestOptions = z.infer<typeof fastestOptions>;

export function createFastest(opts: FastestOptions = fastestOptions.parse({})): Strategy {
  const score = (c: EndpointView, ctx: PickContext) => {
    const l = latencyOf(c, ctx.stream);
    return c.samples === 0 || l <= 0 ? 0 : l;
  };
  return {
    name: "fastest",
    pick<T extends EndpointView>(candidates: readonly T[], ctx: PickContext): T | undefined {
      if (candidates.length <= 1) return candidates[0];
      if (opts.explore_rate > 0 && ctx.random() < opts.explore_rate) {
        return candidates[Math.floor(ctx.random() * candidates.length)];
      }
      return argmin(candidates, (c) => score(c, ctx), ctx.random);
    },
    scores: (candidates, ctx) => candidates.map((c) => score(c, ctx)),
  };
}

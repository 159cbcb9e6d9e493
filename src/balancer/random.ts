/**
 * random: a uniformly random endpoint, or (the default) one chosen with probability
 * proportional to its `weight`. Stateless, so many gateway replicas need no coordination.
 */
import { z } from "zod";
import { weightedPick } from "./choose.js";
import type { EndpointView, PickContext, Strategy } from "./strategy.js";

/** `pool.strategy_options.random`. */
export const randomOptions = z.strictObject({
  /** Choose in proportion to each provider's `weight` (false: uniformly). Default true. */
  weighted: z.boolean().default(true),
});
export type RandomOptions = z.infer<typeof randomOptions>;

export function createRandom(opts: RandomOptions = randomOptions.parse({})): Strategy {
  return {
    name: "random",
    pick<T extends EndpointView>(candidates: readonly T[], ctx: PickContext): T | undefined {
      if (!opts.weighted) return candidates[Math.floor(ctx.random() * candidates.length)];
      return weightedPick(candidates, (c) => c.weight, ctx.random);
    },
  };
}

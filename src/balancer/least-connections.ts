/**
 * least_connections: the endpoint with the fewest calls in flight. Weighted (the default),
 * it compares (in-flight + 1) / weight, so a weight-2 endpoint carries twice the concurrent
 * calls of a weight-1 one. Ties are broken at random.
 */
import { z } from "zod";
import { argmin } from "./choose.js";
import type { EndpointView, PickContext, Strategy } from "./strategy.js";

/** `pool.strategy_options.least_connections`. */
export const leastConnectionsOptions = z.strictObject({
  /** Divide by each provider's `weight`. Default true. */
  weighted: z.boolean().default(true),
});
export type LeastConnectionsOptions = z.infer<typeof leastConnectionsOptions>;

export function createLeastConnections(opts: LeastConnectionsOptions = leastConnectionsOptions.parse({})): Strategy {
  const score = (c: EndpointView) => (opts.weighted ? (c.inFlight + 1) / c.weight : c.inFlight);
  return {
    name: "least_connections",
    pick<T extends EndpointView>(candidates: readonly T[], ctx: PickContext): T | undefined {
      return argmin(candidates, score, ctx.random);
    },
    scores: (candidates) => candidates.map(score),
  };
}

/**
 * priority: tiers. Only the lowest `priority` number among the candidates is considered; the
 * pool has already left out endpoints that are unhealthy, saturated, rate-limited or tried,
 * so the next tier takes traffic exactly when the tier above cannot. Within a tier, another
 * strategy (`within`, default weighted_round_robin) chooses.
 */
import { z } from "zod";
import { SINGLE_PICK_STRATEGIES, type StrategyName } from "./names.js";
import type { EndpointView, PickContext, Strategy } from "./strategy.js";

/** `pool.strategy_options.priority`. */
export const priorityOptions = z.strictObject({
  /** How to choose within a tier. Default weighted_round_robin: a tier's weights are honoured
   * exactly and predictably. */
  within: z
    .enum(SINGLE_PICK_STRATEGIES, {
      error: (i) => `unknown strategy ${JSON.stringify(i.input)}; expected one of ${SINGLE_PICK_STRATEGIES.join(", ")}`,
    })
    .default("weighted_round_robin"),
});
export type PriorityOptions = z.infer<typeof priorityOptions>;

export function createPriority(opts: PriorityOptions, make: (name: StrategyName) => Strategy): Strategy {
  const inner = make(opts.within);
  const tier: EndpointView[] = [];
  /** The candidates of the lowest priority number present (reuses one array). */
  const topTier = <T extends EndpointView>(candidates: readonly T[]): T[] => {
    let top = Infinity;
    for (const c of candidates) if (c.priority < top) top = c.priority;
    tier.length = 0;
    for (const c of candidates) if (c.priority === top) tier.push(c);
    return tier as T[];
  };
  return {
    name: "priority",
    pick<T extends EndpointView>(candidates: readonly T[], ctx: PickContext): T | undefined {
      return inner.pick(topTier(candidates), ctx);
    },
    shortlist: (candidates) => [...topTier(candidates)],
    scores: (candidates) => candidates.map((c) => c.priority),
  };
}

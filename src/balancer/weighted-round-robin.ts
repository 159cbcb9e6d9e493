/**
 * weighted_round_robin: smooth weighted round robin, as nginx does it. Every pick adds each
 * candidate's weight to its running credit, takes the candidate with the most credit and
 * charges it the total weight. Weights 5:1:1 give a a b a c a a, not a a a a a b c: the
 * heavy endpoint gets its share without bursts. Credits are kept by endpoint name, so an
 * endpoint that drops out and returns resumes where it was.
 */
import { z } from "zod";
import type { EndpointView, PickContext, Strategy } from "./strategy.js";

/** `pool.strategy_options.weighted_round_robin`: no knobs (weights come from each provider's `weight`). */
export const weightedRoundRobinOptions = z.strictObject({});

export function createWeightedRoundRobin(): Strategy {
  const credit = new Map<string, number>();
  return {
    name: "weighted_round_robin",
    pick<T extends EndpointView>(candidates: readonly T[], _ctx: PickContext): T | undefined {
      let best: T | undefined;
      let bestCredit = -Infinity;
      let total = 0;
      for (const c of candidates) {
        const now = (credit.get(c.name) ?? 0) + c.weight;
        credit.set(c.name, now);
        total += c.weight;
        if (now > bestCredit) {
          best = c;
          bestCredit = now;
        }
      }
      if (best) credit.set(best.name, bestCredit - total);
      return best;
    },
    scores(candidates) {
      // Higher credit goes next; shown negated so that lower is better, like other scores.
      return candidates.map((c) => -((credit.get(c.name) ?? 0) + c.weight));
    },
  };
}

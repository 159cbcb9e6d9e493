/**
 * round_robin: each eligible endpoint in turn. Endpoints that drop out (unhealthy, excluded)
 * are skipped without disturbing the order of the rest.
 */
import { z } from "zod";
import type { EndpointView, PickContext, Strategy } from "./strategy.js";

/** `pool.strategy_options.round_robin`: no knobs. */
export const roundRobinOptions = z.strictObject({});

export function createRoundRobin(): Strategy {
  let next = 0;
  return {
    name: "round_robin",
    pick<T extends EndpointView>(candidates: readonly T[], _ctx: PickContext): T | undefined {
      const c = candidates[next % candidates.length];
      next = (next + 1) % 1_000_000_007;
      return c;
    },
  };
}

/**
 * p2c: power of two choices, as Envoy's least-request balancer. Pick `choices` distinct
 * endpoints at random and send to the least loaded of them, where load is
 * (in-flight + 1) ^ active_request_bias / weight (Envoy's weight / (active + 1) ^ bias,
 * inverted). Nearly as good as least_connections at spreading load, but it never herds every
 * request onto the one idle endpoint, and needs no global scan.
 */
import { z } from "zod";
import type { EndpointView, PickContext, Strategy } from "./strategy.js";

/** `pool.strategy_options.p2c`. */
export const p2cOptions = z.strictObject({
  /** Endpoints sampled per pick. Default 2: the classic result (Mitzenmacher) is that two
   * choices already give exponentially better balance than one. */
  choices: z.number().int("must be an integer").min(2, "must be >= 2").max(8, "must be <= 8").default(2),
  /** How strongly in-flight calls count against weight; 1 as in Envoy. 0 ignores load. */
  active_request_bias: z.number().min(0, "must be >= 0").max(4, "must be <= 4").default(1),
});
export type P2cOptions = z.infer<typeof p2cOptions>;

export function createP2c(opts: P2cOptions = p2cOptions.parse({})): Strategy {
  const load = (c: EndpointView) => Math.pow(c.inFlight + 1, opts.active_request_bias) / c.weight;
  return {
    name: "p2c",
    pick<T extends EndpointView>(candidates: readonly T[], ctx: PickContext): T | undefined {
      const n = candidates.length;
      if (n <= 1) return candidates[0];
      const k = Math.min(opts.choices, n);
      let best: T | undefined;
      let bestLoad = Infinity;
      // Sample k distinct indices (partial Fisher-Yates over a virtual index array; k is tiny).
      const taken: number[] = [];
      for (let j = 0; j < k; j++) {
        let i = Math.floor(ctx.random() * (n - j));
        for (const t of taken.sort((a, b) => a - b)) if (i >= t) i++;
        taken.push(i);
        const c = candidates[i]!;
        const l = load(c);
        if (l < bestLoad) {
          best = c;
          bestLoad = l;
        }
      }
      return best;
    },
    scores: (candidates) => candidates.map(load),
  };
}

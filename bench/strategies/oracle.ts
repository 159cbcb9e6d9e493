/**
 * The oracle: a strategy that knows what no real balancer can, each upstream's true latency
 * distribution and failure rate at this moment (phases included, the instant they change) and
 * its true queue. It sends each request where its expected completion time is lowest:
 *
 *   wait     = 0 while a slot is free, else (queued + 1) * mean / capacity
 *   expected = wait + (1 - f) * mean + f * (failure time + the best other upstream's mean)
 *
 * It cannot see the future draw of a call (no strategy can), so it is the bar for strategies
 * that send one call per attempt; hedging can beat it.
 */
import type { EndpointView, PickContext, Strategy } from "../../src/balancer/strategy.js";
import type { SimUpstream } from "./upstream.js";

export function createOracle(upstreams: ReadonlyMap<string, SimUpstream>): Strategy {
  const expected = (u: SimUpstream, now: number, bestOther: number): number => {
    const mean = u.meanMs(now);
    const f = u.failureRateAt(now);
    const wait = u.busy < u.spec.capacity ? 0 : ((u.queue.length + 1) * mean) / u.spec.capacity;
    return wait + (1 - f) * mean + f * (u.spec.failMs + bestOther);
  };
  return {
    name: "oracle",
    pick<T extends EndpointView>(candidates: readonly T[], ctx: PickContext): T | undefined {
      const us = candidates.map((c) => upstreams.get(c.name)!);
      const means = us.map((u) => u.meanMs(ctx.now));
      let best: T | undefined;
      let bestScore = Infinity;
      candidates.forEach((c, i) => {
        const other = Math.min(...means.filter((_, j) => j !== i), Infinity);
        const s = expected(us[i]!, ctx.now, Number.isFinite(other) ? other : means[i]!);
        if (s < bestScore) {
          best = c;
          bestScore = s;
        }
      });
      return best;
    },
  };
}

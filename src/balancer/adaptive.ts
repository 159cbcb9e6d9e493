/**
 * adaptive: the default strategy. Each candidate gets a score, an estimate of what sending
 * this request there costs in time, and the lowest score wins (exact ties at random):
 *
 *   latency  = peak EWMA of time to first token (streams) or of whole-call latency (unary);
 *              an endpoint never measured starts at the best latency known among candidates,
 *              so new and restarted endpoints are tried at once
 *   fresh    = 0.5 ^ (ms since its last completed call / decay_half_life_ms), or 1 while it
 *              has calls in flight
 *   latency' = fresh * latency
 *   errors'  = recent error rate * 0.5 ^ (ms since its last failure / decay_half_life_ms)
 *   score    = latency' * (1 + inflight_penalty * in_flight / weight) / weight
 *                       * (1 + error_penalty * errors')
 *
 * The peak EWMA (endpoint.ts) jumps on a slow call at once, so a slowdown moves traffic on
 * the next pick; errors push the score up in proportion; in-flight calls spread load before
 * an endpoint saturates. An endpoint that was avoided gets no new samples, so its estimate
 * decays towards zero with the idle time (`fresh`, as Finagle's peak EWMA decays on read):
 * sooner or later it undercuts the others and gets a probe request; its error penalty fades
 * with the time since its last failure the same way. A still-slow (or still-failing) endpoint
 * answers slowly and the peak EWMA jumps straight back up (one probe per few half-lives, the
 * slower the rarer); a recovered one answers fast and wins more picks, until its average has
 * caught up. On top of that, `explore_rate` sends a small share of picks to a random one.
 * No timers and no I/O: time is `ctx.now`.
 */
import { z } from "zod";
import { argmin, latencyOf } from "./choose.js";
import type { EndpointView, PickContext, Strategy } from "./strategy.js";

/** `pool.strategy_options.adaptive`. */
export const adaptiveOptions = z.strictObject({
  /** How much recent errors cost: a 10% error rate multiplies the score by 1 + 0.1 * this.
   * Default 5: a failed call costs its own time plus a retry elsewhere, so even a few percent
   * of failures should lose to a slightly slower, reliable endpoint. */
  error_penalty: z.number().min(0, "must be >= 0").max(100, "must be <= 100").default(5),
  /** How much each call in flight (per unit of weight) adds to the score, as a share of the
   * latency. Default 0.5: load spreads before queues form, without sending requests to an
   * endpoint several times slower just because the fast one is busy. 0 ignores load. */
  inflight_penalty: z.number().min(0, "must be >= 0").max(10, "must be <= 10").default(0.5),
  /** Half-life (ms) of an idle endpoint's estimate decaying towards zero, so an endpoint that
   * was slow or failing is probed again. Default 10000 (the EWMA's own half-life): a recovered
   * upstream is back in rotation within about a minute, and one still 3x slower than the best
   * costs a probe per ~15 s. */
  decay_half_life_ms: z.number().int("must be an integer").min(100, "must be >= 100").default(10_000),
  /** Share of picks sent to a uniformly random candidate. Default 0.005: recovery is noticed
   * through the decay above; this only keeps every estimate from going stale under load. */
  explore_rate: z.number().min(0, "must be >= 0").max(1, "must be <= 1").default(0.005),
});
export type AdaptiveOptions = z.infer<typeof adaptiveOptions>;

export function createAdaptive(opts: AdaptiveOptions = adaptiveOptions.parse({})): Strategy {
  const LN2 = Math.LN2 / opts.decay_half_life_ms;

  /** Scores of all candidates (lower is better); `out` is reused. */
  const score = (candidates: readonly EndpointView[], ctx: PickContext, out: number[]): number[] => {
    let best = Infinity;
    for (const c of candidates) {
      const l = latencyOf(c, ctx.stream);
      if (c.samples > 0 && l > 0 && l < best) best = l;
    }
    if (best === Infinity) best = 1;
    out.length = candidates.length;
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i]!;
      let latency = latencyOf(c, ctx.stream);
      if (latency <= 0 || c.samples === 0) latency = best;
      // Only idle endpoints decay: one with calls in flight is being measured already (and one
      // that hangs must not look ever faster while its calls pile up).
      if (c.lastCompletedAt > 0 && c.inFlight === 0) latency *= Math.exp(-Math.max(0, ctx.now - c.lastCompletedAt) * LN2);
      let errors = c.errorRate;
      if (errors > 0 && c.lastFailedAt > 0) errors *= Math.exp(-Math.max(0, ctx.now - c.lastFailedAt) * LN2);
      out[i] =
        ((latency * (1 + (opts.inflight_penalty * c.inFlight) / c.weight)) / c.weight) *
        (1 + opts.error_penalty * errors);
    }
    return out;
  };

  const buf: number[] = [];
  return {
    name: "adaptive",
    pick<T extends EndpointView>(candidates: readonly T[], ctx: PickContext): T | undefined {
      if (candidates.length <= 1) return candidates[0];
      if (opts.explore_rate > 0 && ctx.random() < opts.explore_rate) {
        return candidates[Math.floor(ctx.random() * candidates.length)];
      }
      const s = score(candidates, ctx, buf);
      return argmin(candidates, (_c, i) => s[i]!, ctx.random);
    },
    scores: (candidates, ctx) => score(candidates, ctx, []),
  };
}

/**
 * adaptive: the default strategy. Each candidate gets a score, an estimate of the time this
 * request would take there, and the lowest score wins (exact ties at random):
 *
 *   latency  = peak EWMA of time to first token (streams) or of whole-call latency (unary),
 *              raised to the mean age of its calls in flight when they have been out longer
 *   latency' = latency * 0.5 ^ (ms since its last completed call / decay_half_life_ms) when
 *              it has nothing in flight, else latency. Never measured: half the best
 *              latency' among the candidates while idle (so it is tried at once), twice the
 *              worst while its first calls are out (so they are not piled onto it)
 *   errors'  = recent error rate e * 0.5 ^ (ms since its last failure / decay_half_life_ms)
 *   alt      = the best latency' among the other candidates (where a failed call is retried)
 *   score    = latency' * (1 + inflight_penalty * in_flight / weight)
 *              + error_penalty * errors' / (1 - errors') * (latency' + alt)
 *
 * The peak EWMA (endpoint.ts) jumps on a slow call at once, and the age of calls in flight
 * shows a slowdown (or a hang) even before the first slow call completes, so traffic moves on
 * the next pick. A failure costs its own time plus a retry elsewhere, per expected failure
 * before a success, times error_penalty for what else it costs. Calls in flight spread load
 * among equals; weight is capacity (a weight-2 endpoint carries twice the calls in flight
 * before it looks as busy).
 *
 * Recovery: an endpoint that was avoided gets no new samples, so its estimate decays towards
 * zero with the idle time (as Finagle's peak EWMA decays on read) and its error penalty with
 * the time since its last failure. Sooner or later it undercuts the others and gets a probe.
 * A still-slow or still-failing endpoint answers badly and jumps straight back up (one probe
 * per few half-lives, the worse the rarer); a recovered one answers well, wins more picks and
 * is back in rotation. On top of that, `explore_rate` sends a small share of picks to a
 * random candidate. No timers and no I/O: time is `ctx.now`.
 */
import { z } from "zod";
import { argmin, latencyOf } from "./choose.js";
import type { EndpointView, PickContext, Strategy } from "./strategy.js";

/** `pool.strategy_options.adaptive`. */
export const adaptiveOptions = z.strictObject({
  /** What a failure costs, in multiples of the time it wastes (its own call plus a retry on
   * the best other endpoint), per expected failure before a success (e / (1 - e)). Default 2:
   * a failure also spends an upstream call and risks the request, so an endpoint failing 10%
   * of calls must be about 20% faster to keep its traffic, while one chance failure (the error
   * rate is an average over ~20 calls) does not send all traffic elsewhere. */
  error_penalty: z.number().min(0, "must be >= 0").max(100, "must be <= 100").default(2),
  /** How much each call in flight (per unit of weight) adds to the score, as a share of the
   * latency. Default 0.02: equal endpoints share load evenly and a burst spreads, but a busy
   * fast endpoint keeps winning over an idle slow one; a backend that slows under load shows
   * it in its latency (and in the age of its calls in flight) and loses traffic that way.
   * Raise it for self-hosted backends whose capacity you have not set with max_concurrency. */
  inflight_penalty: z.number().min(0, "must be >= 0").max(10, "must be <= 10").default(0.02),
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

/**
 * An endpoint never measured counts as this share of the best known latency: it wins the next
 * idle pick, yet once two calls are in flight on it the others compete again.
 */
const UNMEASURED = 0.5;

export function createAdaptive(opts: AdaptiveOptions = adaptiveOptions.parse({})): Strategy {
  const LN2 = Math.LN2 / opts.decay_half_life_ms;

  /** Scores of all candidates (lower is better); `out` is reused. */
  const score = (candidates: readonly EndpointView[], ctx: PickContext, out: number[]): number[] => {
    out.length = candidates.length;
    // Pass 1: the (decayed) latency of every measured candidate, and the best of them.
    let best = Infinity;
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i]!;
      let latency = latencyOf(c, ctx.stream);
      if (latency <= 0 || c.samples === 0) {
        // Never measured: a probe while idle; while its first calls are out, wait for them.
        out[i] = c.inFlight > 0 ? -2 : -1;
        continue;
      }
      // Calls out for longer than the EWMA, on average: it has slowed (or hangs).
      const age = c.inFlight > 0 ? c.inFlightAgeMs(ctx.now) : 0;
      if (age > latency) latency = age;
      // Only idle endpoints decay: one with calls in flight is being measured already (and one
      // that hangs must not look ever faster while its calls pile up).
      if (c.lastCompletedAt > 0 && c.inFlight === 0) latency *= Math.exp(-Math.max(0, ctx.now - c.lastCompletedAt) * LN2);
      out[i] = latency;
      if (latency < best) best = latency;
    }
    const unmeasured = best === Infinity ? 1 : best * UNMEASURED;
    let worst = 0;
    for (let i = 0; i < candidates.length; i++) if (out[i]! > worst) worst = out[i]!;
    const probing = Math.max(worst, unmeasured) * 2;
    let first = Infinity;
    let second = Infinity;
    for (let i = 0; i < candidates.length; i++) {
      const l = out[i] === -1 ? unmeasured : out[i] === -2 ? probing : out[i]!;
      out[i] = l;
      if (l < first) [first, second] = [l, first];
      else if (l < second) second = l;
    }
    // Pass 2: scores.
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i]!;
      const latency = out[i]!;
      const alt = latency === first ? (second === Infinity ? latency : second) : first;
      let errors = c.errorRate;
      if (errors > 0 && c.lastFailedAt > 0) errors *= Math.exp(-Math.max(0, ctx.now - c.lastFailedAt) * LN2);
      out[i] =
        latency * (1 + (opts.inflight_penalty * c.inFlight) / c.weight) +
        opts.error_penalty * (errors / (1 - Math.min(errors, 0.99))) * (latency + alt);
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

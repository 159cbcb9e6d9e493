/**
 * The hedge budget: a token bucket that earns `ratio` of a hedge per request and spends one
 * per hedge, so over any stretch of traffic hedges stay below ratio * requests + BURST. With
 * ratio <= 1 and at most one hedge per request, hedging can never more than double the load,
 * however slow the upstreams get (gRPC's retry throttling and Envoy's retry budgets work the
 * same way).
 */
import type { HedgeBudget } from "./strategy.js";

/** Hedges that may be spent at once after a calm stretch: enough for a short latency spike. */
export const HEDGE_BURST = 10;

export function createHedgeBudget(ratio: number, burst = HEDGE_BURST): HedgeBudget & { readonly tokens: number } {
  // Start with one token so the first slow request after start-up may hedge.
  let tokens = Math.min(1, burst);
  return {
    get tokens() {
      return tokens;
    },
    deposit() {
      tokens = Math.min(burst, tokens + ratio);
    },
    tryWithdraw() {
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
    refund() {
      tokens = Math.min(burst, tokens + 1);
    },
  };
}

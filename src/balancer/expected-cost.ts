/**
 * What a request is expected to cost on an endpoint before it is sent: estimated prompt
 * tokens at the input price (the cached part at the cached-input price when the affinity
 * layer says this endpoint likely holds the prompt in its cache), plus `max_tokens` (or the
 * completion estimate) at the output price.
 */
import type { EndpointView, PickContext } from "./strategy.js";

export function expectedCostUsd(v: EndpointView, ctx: PickContext): number {
  const p = ctx.pricing(v);
  const home = ctx.cacheAffinity;
  const cached = home && home.home.name === v.name ? Math.min(home.cachedTokens, ctx.promptTokens) : 0;
  return (
    ((ctx.promptTokens - cached) * p.inputPer1m + cached * p.cachedInputPer1m + ctx.maxTokens * p.outputPer1m) /
    1_000_000
  );
}

/**
 * Pricing arithmetic: USD for a call from its token usage and a per-million price table.
 */
import { roundUsd } from "../core/round.js";
import type { Pricing } from "../balancer/strategy.js";
import type { ModelPriceConfig, ProviderConfig } from "../config/schema.js";
import type { TokenUsage } from "../core/provider.js";

export const FREE: Pricing = { inputPer1m: 0, outputPer1m: 0, cachedInputPer1m: 0 };

/** A price entry of the config (cached defaults to input). */
export function pricingFromPrice(p: ModelPriceConfig): Pricing {
  return {
    inputPer1m: p.input_per_1m,
    outputPer1m: p.output_per_1m,
    cachedInputPer1m: p.cached_input_per_1m ?? p.input_per_1m,
  };
}

/** Whether a provider's `pricing` sets flat prices for all its models. */
export function hasFlatPricing(p: ProviderConfig["pricing"]): boolean {
  return !!p && (p.input_per_1m !== undefined || p.output_per_1m !== undefined);
}

/** A provider's flat `pricing` (FREE when it sets none): what EndpointView.pricing shows. */
export function pricingFromConfig(p: ProviderConfig["pricing"]): Pricing {
  if (!p || !hasFlatPricing(p)) return FREE;
  const input = p.input_per_1m ?? 0;
  return {
    inputPer1m: input,
    outputPer1m: p.output_per_1m ?? 0,
    cachedInputPer1m: p.cached_input_per_1m ?? input,
  };
}

/** What a Pricer may read about an endpoint (Endpoint satisfies it). */
export interface PricedEndpoint {
  readonly pricing: Pricing;
  readonly name?: string;
  readonly type?: string;
  readonly config?: Pick<ProviderConfig, "pricing">;
}

/** Prices for an endpoint serving one upstream model. */
export interface Pricer {
  pricing(endpoint: PricedEndpoint, upstreamModel: string): Pricing;
}

/** Each provider's configured `pricing`, whatever the model. */
export function createConfigPricer(): Pricer {
  return { pricing: (endpoint) => endpoint.pricing };
}

/** Cost in USD. Cached prompt tokens are billed at the cached rate, the rest at the input rate. */
export function costOf(pricing: Pricing, usage: TokenUsage): number {
  const cached = Math.min(usage.cachedTokens, usage.promptTokens);
  return roundUsd(
    ((usage.promptTokens - cached) * pricing.inputPer1m +
      cached * pricing.cachedInputPer1m +
      usage.completionTokens * pricing.outputPer1m) /
      1_000_000,
  );
}

/** Expected cost before the call, from estimated prompt tokens and a completion budget. */
export function expectedCost(pricing: Pricing, promptTokens: number, completionTokens: number): number {
  return (promptTokens * pricing.inputPer1m + completionTokens * pricing.outputPer1m) / 1_000_000;
}

/**
 * The pool's Pricer: the price of one upstream model on one provider, resolved in this order
 * (first match wins):
 *
 *   1. the provider's `pricing.models[<upstream model>]`
 *   2. the provider's flat `pricing` (input_per_1m / output_per_1m)
 *   3. `cost.prices[<upstream model>]`, for every provider
 *   4. the built-in table (price-table.ts), except for local types (mock, ollama, lmstudio,
 *      vllm), which serve models without charge
 *   5. free
 *
 * Resolved prices are cached per endpoint and model, so the hot path is two map lookups; the
 * cache is dropped when the `cost.prices` section is replaced (config reload). Endpoints whose
 * config changes are new objects, so their entries go with them (WeakMap).
 */
import type { Pricing } from "../balancer/strategy.js";
import type { CostConfig } from "../config/schema.js";
import { builtinPrice } from "./price-table.js";
import { FREE, hasFlatPricing, pricingFromConfig, pricingFromPrice, type PricedEndpoint, type Pricer } from "./pricing.js";

/** Provider types that run models locally: the built-in (cloud) table does not apply. */
const LOCAL_TYPES = new Set(["mock", "ollama", "ollama-openai", "lmstudio", "vllm"]);

export interface TablePricerOptions {
  /** The `cost.prices` in force (read on every call; a new object clears the cache). */
  prices: () => CostConfig["prices"];
}

/** Where a price came from, for `explain` (docs, debugging, tests). */
export type PriceSource = "provider_model" | "provider" | "cost.prices" | "builtin" | "free";

export interface TablePricer extends Pricer {
  explain(endpoint: PricedEndpoint, upstreamModel: string): { pricing: Pricing; source: PriceSource };
}

export function createTablePricer(opts: TablePricerOptions): TablePricer {
  let cache = new WeakMap<PricedEndpoint, Map<string, Pricing>>();
  let pricesSeen: CostConfig["prices"] | undefined;

  function resolve(e: PricedEndpoint, model: string): { pricing: Pricing; source: PriceSource } {
    const cfg = e.config?.pricing;
    const own = cfg?.models?.[model];
    if (own) return { pricing: pricingFromPrice(own), source: "provider_model" };
    if (cfg && hasFlatPricing(cfg)) return { pricing: pricingFromConfig(cfg), source: "provider" };
    if (!e.config) {
      // A bare view (tests, composites without config): its own flat pricing if any.
      if (e.pricing !== FREE && (e.pricing.inputPer1m > 0 || e.pricing.outputPer1m > 0)) {
        return { pricing: e.pricing, source: "provider" };
      }
    }
    const global = opts.prices()[model];
    if (global) return { pricing: pricingFromPrice(global), source: "cost.prices" };
    if (!e.type || !LOCAL_TYPES.has(e.type)) {
      const b = builtinPrice(model);
      if (b) return { pricing: b, source: "builtin" };
    }
    return { pricing: FREE, source: "free" };
  }

  return {
    pricing(e, model) {
      const prices = opts.prices();
      if (prices !== pricesSeen) {
        pricesSeen = prices;
        cache = new WeakMap();
      }
      let byModel = cache.get(e);
      if (!byModel) cache.set(e, (byModel = new Map()));
      let p = byModel.get(model);
      if (!p) byModel.set(model, (p = resolve(e, model).pricing));
      return p;
    },
    explain: resolve,
  };
}

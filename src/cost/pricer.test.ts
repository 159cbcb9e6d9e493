import { describe, expect, it } from "vitest";
import { validateConfig } from "../config/load.js";
import { builtinModels, builtinPrice } from "./price-table.js";
import { createTablePricer } from "./pricer.js";
import { costOf, pricingFromConfig } from "./pricing.js";

describe("built-in price table", () => {
  it("lists well-known models with input, output and cached prices", () => {
    expect(builtinPrice("gpt-4o-mini")).toEqual({ inputPer1m: 0.15, outputPer1m: 0.6, cachedInputPer1m: 0.075 });
    expect(builtinPrice("claude-3-5-haiku")).toEqual({ inputPer1m: 0.8, outputPer1m: 4, cachedInputPer1m: 0.08 });
    // No cache rate: cached prompt tokens cost the input rate.
    expect(builtinPrice("llama-3.3-70b-versatile")).toEqual({ inputPer1m: 0.59, outputPer1m: 0.79, cachedInputPer1m: 0.59 });
    expect(builtinModels().length).toBeGreaterThan(40);
    for (const m of builtinModels()) {
      const p = builtinPrice(m)!;
      expect(p.outputPer1m, m).toBeGreaterThanOrEqual(p.inputPer1m);
      expect(p.cachedInputPer1m, m).toBeLessThanOrEqual(p.inputPer1m);
    }
  });

  it("ignores vendor prefixes, date and version suffixes and case", () => {
    const mini = builtinPrice("gpt-4o-mini");
    expect(builtinPrice("gpt-4o-mini-2024-07-18")).toEqual(mini);
    expect(builtinPrice("openai/gpt-4o-mini")).toEqual(mini);
    expect(builtinPrice("GPT-4o-Mini")).toEqual(mini);
    expect(builtinPrice("claude-sonnet-4-20250514")).toEqual(builtinPrice("claude-sonnet-4"));
    expect(builtinPrice("claude-3-5-haiku-latest")).toEqual(builtinPrice("claude-3-5-haiku"));
    expect(builtinPrice("anthropic/claude-3.5-haiku")).toEqual(builtinPrice("claude-3-5-haiku"));
    expect(builtinPrice("claude-sonnet-4-0")).toEqual(builtinPrice("claude-sonnet-4"));
    expect(builtinPrice("gemini-1.5-flash-002")).toEqual(builtinPrice("gemini-1.5-flash"));
    expect(builtinPrice("meta-llama/Llama-3.3-70B-Instruct-Turbo")).toEqual({ inputPer1m: 0.88, outputPer1m: 0.88, cachedInputPer1m: 0.88 });
    // gpt-4o is not gpt-4o-mini, and unknown models are not guessed.
    expect(builtinPrice("gpt-4o")!.inputPer1m).toBe(2.5);
    expect(builtinPrice("my-finetune")).toBeUndefined();
  });
});

function endpoints(raw: Record<string, unknown>) {
  const { config } = validateConfig(raw, "test", {});
  const eps = config.providers.map((c) => ({ name: c.name, type: c.type, config: c, pricing: pricingFromConfig(c.pricing) }));
  return { config, eps };
}

describe("table pricer", () => {
  it("resolves provider model > provider flat > cost.prices > built-in > free", () => {
    const { config, eps } = endpoints({
      cost: { prices: { "gpt-4o-mini": { input_per_1m: 0.2, output_per_1m: 0.8 }, "my-ft": { input_per_1m: 3, output_per_1m: 12, cached_input_per_1m: 1.5 } } },
      providers: [
        { name: "a", type: "openai", api_key: "k-aaaaaaaa", models: ["gpt-4o-mini", "gpt-4o"], pricing: { models: { "gpt-4o": { input_per_1m: 1, output_per_1m: 4 } } } },
        { name: "b", type: "openai", api_key: "k-bbbbbbbb", models: ["gpt-4o-mini"], pricing: { input_per_1m: 0.1, output_per_1m: 0.5 } },
        { name: "c", type: "groq", api_key: "k-cccccccc", models: ["llama-3.1-8b-instant", "my-ft", "unknown-model"] },
        { name: "local", type: "mock", models: ["gpt-4o"] },
      ],
    });
    const pricer = createTablePricer({ prices: () => config.cost.prices });
    const [a, b, c, local] = eps;
    expect(pricer.explain(a!, "gpt-4o")).toEqual({ pricing: { inputPer1m: 1, outputPer1m: 4, cachedInputPer1m: 1 }, source: "provider_model" });
    expect(pricer.explain(a!, "gpt-4o-mini")).toEqual({ pricing: { inputPer1m: 0.2, outputPer1m: 0.8, cachedInputPer1m: 0.2 }, source: "cost.prices" });
    expect(pricer.explain(b!, "gpt-4o-mini")).toEqual({ pricing: { inputPer1m: 0.1, outputPer1m: 0.5, cachedInputPer1m: 0.1 }, source: "provider" });
    expect(pricer.explain(c!, "llama-3.1-8b-instant").source).toBe("builtin");
    expect(pricer.explain(c!, "my-ft").pricing).toEqual({ inputPer1m: 3, outputPer1m: 12, cachedInputPer1m: 1.5 });
    expect(pricer.explain(c!, "unknown-model").source).toBe("free");
    expect(pricer.explain(local!, "gpt-4o").source).toBe("free");
    // Cached: the same object comes back.
    expect(pricer.pricing(a!, "gpt-4o")).toBe(pricer.pricing(a!, "gpt-4o"));
  });

  it("drops its cache when cost.prices is replaced (reload)", () => {
    let prices: Record<string, { input_per_1m: number; output_per_1m: number }> = {};
    const { eps } = endpoints({ providers: [{ name: "a", type: "openai", api_key: "k-aaaaaaaa", models: ["x"] }] });
    const pricer = createTablePricer({ prices: () => prices });
    expect(pricer.pricing(eps[0]!, "x").inputPer1m).toBe(0);
    prices = { x: { input_per_1m: 5, output_per_1m: 6 } };
    expect(pricer.pricing(eps[0]!, "x").inputPer1m).toBe(5);
  });

  it("prices cached prompt tokens at the cached rate", () => {
    const p = builtinPrice("gpt-4o")!;
    // 1000 prompt tokens of which 400 cached, 200 completion tokens.
    expect(costOf(p, { promptTokens: 1000, completionTokens: 200, cachedTokens: 400 })).toBeCloseTo((600 * 2.5 + 400 * 1.25 + 200 * 10) / 1e6, 15);
  });

  it("rejects bad prices and budgets with their paths", () => {
    const bad = () =>
      validateConfig(
        {
          cost: { prices: { x: { input_per_1m: -1, output_per_1m: 1 } }, budgets: { tenants: { acme: { daily_usd: 0 } } }, ledger: { flush_interval_ms: 0 } },
          providers: [{ name: "m", type: "mock", models: ["m"], budget: { monthly_usd: -5, weekly_usd: 1 } }],
        },
        "t",
        {},
      );
    expect(bad).toThrow(/cost\.ledger\.flush_interval_ms: must be >= 1/);
    expect(bad).toThrow(/cost\.prices\.x\.input_per_1m: must be >= 0/);
    expect(bad).toThrow(/cost\.budgets\.tenants\.acme\.daily_usd: must be > 0/);
    expect(bad).toThrow(/providers\[0\]\.budget\.weekly_usd: unknown key/);
    expect(bad).toThrow(/providers\[0\]\.budget\.monthly_usd: must be > 0/);
  });
});

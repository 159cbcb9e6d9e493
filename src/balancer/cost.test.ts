import { describe, expect, it } from "vitest";
import { counts, fakeContext, fakeView } from "../../test/helpers/fake-endpoint.js";
import { costOptions, createCost } from "./cost.js";

const price = (input: number, output: number, cached = input) => ({ inputPer1m: input, outputPer1m: output, cachedInputPer1m: cached });

describe("cost", () => {
  it("picks the cheapest expected cost for this request's prompt and max_tokens", () => {
    const s = createCost();
    // a: cheap input, dear output; b: the opposite.
    const a = fakeView("a", { pricing: price(0.1, 10) });
    const b = fakeView("b", { pricing: price(3, 0.5) });
    // Long prompt, short answer: a.
    expect(s.pick([a, b], fakeContext({ promptTokens: 10_000, maxTokens: 10 }))!.name).toBe("a");
    // Short prompt, long answer: b.
    expect(s.pick([a, b], fakeContext({ promptTokens: 10, maxTokens: 4000 }))!.name).toBe("b");
    expect(s.scores!([a, b], fakeContext({ promptTokens: 1_000_000, maxTokens: 0 }))).toEqual([0.1, 3]);
  });

  it("uses per-model prices from ctx.pricing", () => {
    const s = createCost();
    const a = fakeView("a", { pricing: price(1, 1) });
    const b = fakeView("b", { pricing: price(2, 2) });
    const ctx = fakeContext({ pricing: (v) => (v.name === "a" ? price(5, 5) : v.pricing) });
    expect(s.pick([a, b], ctx)!.name).toBe("b");
  });

  it("prices the cached prefix at the cached rate on the affinity home", () => {
    const s = createCost();
    const a = fakeView("a", { pricing: price(1, 1, 0.1) });
    const b = fakeView("b", { pricing: price(0.8, 1) });
    const ctx = fakeContext({ promptTokens: 10_000, maxTokens: 100 });
    expect(s.pick([a, b], ctx)!.name).toBe("b");
    expect(s.pick([a, b], { ...ctx, cacheAffinity: { home: a, cachedTokens: 9000 } })!.name).toBe("a");
  });

  it("spreads equally cheap endpoints by load", () => {
    const s = createCost(costOptions.parse({ tolerance: 0.05 }));
    const a = fakeView("a", { pricing: price(1, 1) });
    const b = fakeView("b", { pricing: price(1.04, 1.04) });
    const c = fakeView("c", { pricing: price(2, 2) });
    const ctx = fakeContext();
    const picks = Array.from({ length: 20 }, () => {
      const v = s.pick([a, b, c], ctx)!;
      (v as { inFlight: number }).inFlight++;
      return v.name;
    });
    expect(counts(["a", "b", "c"], picks)).toEqual({ a: 10, b: 10, c: 0 });
  });
});

import { describe, expect, it } from "vitest";
import { counts, fakeContext, fakeView, seededRandom } from "../../test/helpers/fake-endpoint.js";
import { createSlo, sloOptions } from "./slo.js";

const price = (p: number) => ({ inputPer1m: p, outputPer1m: p, cachedInputPer1m: p / 10 });
const lat = (ms: number, n = 20) => Array.from({ length: n }, () => ms);

describe("slo", () => {
  const opts = sloOptions.parse({ max_p95_ms: 500, explore_rate: 0 });

  it("picks the cheapest endpoint whose p95 meets the target", () => {
    const s = createSlo(opts);
    const cheapSlow = fakeView("cheap-slow", { pricing: price(0.1), samples: 20, latencies: lat(900) });
    const mid = fakeView("mid", { pricing: price(1), samples: 20, latencies: lat(400) });
    const dearFast = fakeView("dear-fast", { pricing: price(5), samples: 20, latencies: lat(100) });
    expect(s.pick([cheapSlow, mid, dearFast], fakeContext())!.name).toBe("mid");
    expect(s.scores!([cheapSlow, mid, dearFast], fakeContext())[0]).toBe(Infinity);
  });

  it("judges the percentile, not the average: a heavy tail misses", () => {
    const s = createSlo(opts);
    const tail = fakeView("tail", { pricing: price(0.1), samples: 20, latencies: [...lat(100, 18), 3000, 3000] });
    const steady = fakeView("steady", { pricing: price(1), samples: 20, latencies: lat(450) });
    expect(s.pick([tail, steady], fakeContext())!.name).toBe("steady");
  });

  it("falls back to the fastest when none meets it", () => {
    const s = createSlo(opts);
    const a = fakeView("a", { pricing: price(0.1), samples: 20, latencies: lat(900) });
    const b = fakeView("b", { pricing: price(5), samples: 20, latencies: lat(700) });
    expect(s.pick([a, b], fakeContext())!.name).toBe("b");
  });

  it("uses time to first token for streams", () => {
    const s = createSlo(opts);
    const a = fakeView("a", { pricing: price(0.1), samples: 20, latencies: lat(3000), ttfts: lat(200) });
    const b = fakeView("b", { pricing: price(5), samples: 20, latencies: lat(300), ttfts: lat(250) });
    expect(s.pick([a, b], fakeContext({ stream: true }))!.name).toBe("a");
    expect(s.pick([a, b], fakeContext({ stream: false }))!.name).toBe("b");
  });

  it("tries unproven endpoints when nothing proven meets the target, and explores them otherwise", () => {
    const a = fakeView("a", { pricing: price(1), samples: 20, latencies: lat(900) });
    const fresh = fakeView("fresh", { pricing: price(2), samples: 3, latencies: lat(100, 3) });
    expect(createSlo(opts).pick([a, fresh], fakeContext())!.name).toBe("fresh");
    const good = fakeView("good", { pricing: price(1), samples: 20, latencies: lat(100) });
    const exploring = createSlo(sloOptions.parse({ max_p95_ms: 500, explore_rate: 0.1 }));
    const ctx = fakeContext({ random: seededRandom(2) });
    const got = counts(["good", "fresh"], Array.from({ length: 10_000 }, () => exploring.pick([good, fresh], ctx)!.name));
    expect(Math.abs(got.fresh! / 10_000 - 0.1)).toBeLessThan(0.015);
  });

  it("counts the cache discount of the affinity home", () => {
    const s = createSlo(opts);
    const home = fakeView("home", { pricing: { inputPer1m: 1, outputPer1m: 1, cachedInputPer1m: 0.1 }, samples: 20, latencies: lat(200) });
    const other = fakeView("other", { pricing: price(0.8), samples: 20, latencies: lat(200) });
    const ctx = fakeContext({ promptTokens: 10_000, maxTokens: 10 });
    expect(s.pick([home, other], ctx)!.name).toBe("other");
    expect(s.pick([home, other], { ...ctx, cacheAffinity: { home, cachedTokens: 9_000 } })!.name).toBe("home");
  });
});

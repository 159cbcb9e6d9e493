import { describe, expect, it } from "vitest";
import { counts, fakeContext, fakeView, seededRandom } from "../../test/helpers/fake-endpoint.js";
import { createFastest, fastestOptions } from "./fastest.js";

describe("fastest", () => {
  it("tries unmeasured endpoints first, then the lowest latency", () => {
    const s = createFastest(fastestOptions.parse({ explore_rate: 0 }));
    const a = fakeView("a", { ewmaLatencyMs: 200, samples: 5 });
    const b = fakeView("b");
    const c = fakeView("c", { ewmaLatencyMs: 90, samples: 5 });
    const ctx = fakeContext();
    expect(s.pick([a, b, c], ctx)!.name).toBe("b");
    b.samples = 1;
    b.ewmaLatencyMs = 150;
    expect(s.pick([a, b, c], ctx)!.name).toBe("c");
    expect(s.scores!([a, b, c], ctx)).toEqual([200, 150, 90]);
  });

  it("uses time to first token for streams", () => {
    const s = createFastest(fastestOptions.parse({ explore_rate: 0 }));
    const a = fakeView("a", { ewmaLatencyMs: 900, ewmaTtftMs: 80, samples: 5 });
    const b = fakeView("b", { ewmaLatencyMs: 400, ewmaTtftMs: 300, samples: 5 });
    expect(s.pick([a, b], fakeContext({ stream: true }))!.name).toBe("a");
    expect(s.pick([a, b], fakeContext({ stream: false }))!.name).toBe("b");
  });

  it("explores at explore_rate (default 5%)", () => {
    const s = createFastest();
    const a = fakeView("a", { ewmaLatencyMs: 100, samples: 5 });
    const b = fakeView("b", { ewmaLatencyMs: 500, samples: 5 });
    const ctx = fakeContext({ random: seededRandom(8) });
    const got = counts(["a", "b"], Array.from({ length: 20_000 }, () => s.pick([a, b], ctx)!.name));
    expect(Math.abs(got.b! / 20_000 - 0.025)).toBeLessThan(0.005);
  });
});

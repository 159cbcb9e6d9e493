import { describe, expect, it } from "vitest";
import { fakeContext, fakeView } from "../../test/helpers/fake-endpoint.js";
import { createRacing, racingOptions } from "./racing-strategy.js";
import { createStrategy } from "./registry.js";

const make = (n: Parameters<typeof createStrategy>[0]) => createStrategy(n);

describe("racing", () => {
  it("picks each leg with its select strategy and describes the race", () => {
    const s = createRacing(racingOptions.parse({ select: "least_connections", fanout: 3 }), make);
    const a = fakeView("a", { inFlight: 2 });
    const b = fakeView("b", { inFlight: 0 });
    expect(s.pick([a, b], fakeContext())!.name).toBe("b");
    expect(s.race).toMatchObject({ mode: "first_wins", fanout: 3 });
  });

  it("hedge delay: fixed, or the first endpoint's observed percentile once it has enough samples", () => {
    const fixed = createRacing(racingOptions.parse({ mode: "hedged", hedge_delay: 250 }), make).race!;
    const v = fakeView("a", { samples: 5, latencies: [100, 200, 300, 400], ttfts: [50] });
    expect(fixed.hedgeDelayMs(v, fakeContext())).toBe(250);
    const observed = createRacing(racingOptions.parse({ mode: "hedged", hedge_delay: "p75", hedge_delay_min_samples: 4 }), make).race!;
    expect(observed.hedgeDelayMs(v, fakeContext())).toBe(300);
    expect(observed.hedgeDelayMs(v, fakeContext({ stream: true }))).toBe(50);
    v.samples = 3;
    expect(observed.hedgeDelayMs(v, fakeContext())).toBe(1000);
  });

  it("validates its options with clear messages", () => {
    expect(racingOptions.safeParse({ hedge_delay: "fast" }).error?.issues[0]?.message).toMatch(/number of ms or a percentile/);
    expect(racingOptions.safeParse({ hedge_budget: 2 }).error?.issues[0]?.message).toMatch(/must be <= 1/);
    expect(racingOptions.safeParse({ select: "racing" }).error?.issues[0]?.message).toMatch(/unknown strategy "racing"/);
    expect(racingOptions.safeParse({ fanout: 1 }).error?.issues[0]?.message).toMatch(/must be >= 2/);
  });
});

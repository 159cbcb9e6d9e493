import { describe, expect, it } from "vitest";
import { counts, fakeContext, fakeView, seededRandom } from "../../test/helpers/fake-endpoint.js";
import { createP2c, p2cOptions } from "./p2c.js";

describe("p2c", () => {
  it("never picks the most loaded endpoint, and the least loaded about twice its share", () => {
    const s = createP2c();
    const c = [fakeView("idle", { inFlight: 0 }), fakeView("some", { inFlight: 2 }), fakeView("busy", { inFlight: 5 })];
    const ctx = fakeContext({ random: seededRandom(5) });
    const got = counts(["idle", "some", "busy"], Array.from({ length: 9000 }, () => s.pick(c, ctx)!.name));
    expect(got.busy).toBe(0);
    // idle wins both pairs it is drawn in: 2 of 3 pairs.
    expect(Math.abs(got.idle! / 9000 - 2 / 3)).toBeLessThan(0.02);
  });

  it("samples distinct endpoints: equal loads spread uniformly", () => {
    const s = createP2c();
    const c = ["a", "b", "c", "d"].map((n) => fakeView(n));
    const ctx = fakeContext({ random: seededRandom(11) });
    const got = counts(["a", "b", "c", "d"], Array.from({ length: 20_000 }, () => s.pick(c, ctx)!.name));
    for (const n of ["a", "b", "c", "d"]) expect(Math.abs(got[n]! / 20_000 - 0.25)).toBeLessThan(0.02);
  });

  it("is weight-aware like Envoy: weight / (in-flight + 1) ^ bias", () => {
    const s = createP2c();
    const heavy = fakeView("heavy", { weight: 3 });
    const light = fakeView("light", { weight: 1 });
    const ctx = fakeContext();
    for (let i = 0; i < 40; i++) (s.pick([heavy, light], ctx) as { inFlight: number }).inFlight++;
    expect([heavy.inFlight, light.inFlight]).toEqual([30, 10]);
    // bias 0 ignores load: the heavier always wins.
    const noLoad = createP2c(p2cOptions.parse({ active_request_bias: 0 }));
    expect(noLoad.pick([heavy, light], ctx)!.name).toBe("heavy");
  });
});

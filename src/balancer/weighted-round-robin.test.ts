import { describe, expect, it } from "vitest";
import { counts, fakeContext, fakeView } from "../../test/helpers/fake-endpoint.js";
import { createWeightedRoundRobin } from "./weighted-round-robin.js";

describe("weighted_round_robin (smooth)", () => {
  it("interleaves like nginx: 5:1:1 gives a a b a c a a, repeating", () => {
    const s = createWeightedRoundRobin();
    const c = [fakeView("a", { weight: 5 }), fakeView("b"), fakeView("c")];
    const ctx = fakeContext();
    const seq = Array.from({ length: 14 }, () => s.pick(c, ctx)!.name).join(" ");
    expect(seq).toBe("a a b a c a a a a b a c a a");
  });

  it("2:1 never sends two to the light one in a row and gives exact shares", () => {
    const s = createWeightedRoundRobin();
    const c = [fakeView("heavy", { weight: 2 }), fakeView("light")];
    const ctx = fakeContext();
    const picks = Array.from({ length: 300 }, () => s.pick(c, ctx)!.name);
    expect(picks.slice(0, 6).join(" ")).toBe("heavy light heavy heavy light heavy");
    expect(counts(["heavy", "light"], picks)).toEqual({ heavy: 200, light: 100 });
  });

  it("handles fractional weights and candidates that drop out", () => {
    const s = createWeightedRoundRobin();
    const a = fakeView("a", { weight: 0.5 });
    const b = fakeView("b", { weight: 1.5 });
    const ctx = fakeContext();
    expect(counts(["a", "b"], Array.from({ length: 400 }, () => s.pick([a, b], ctx)!.name))).toEqual({ a: 100, b: 300 });
    // b alone while a is out, then both again: shares stay exact.
    expect(s.pick([b], ctx)!.name).toBe("b");
    const after = counts(["a", "b"], Array.from({ length: 400 }, () => s.pick([a, b], ctx)!.name));
    expect(Math.abs(after.a! - 100)).toBeLessThanOrEqual(1);
  });
});

import { describe, expect, it } from "vitest";
import { counts, fakeContext, fakeView, seededRandom } from "../../test/helpers/fake-endpoint.js";
import { createRandom, randomOptions } from "./random.js";

const N = 20_000;

describe("random", () => {
  it("weighted (default): shares follow the weights within 2%", () => {
    const s = createRandom();
    const c = [fakeView("a", { weight: 1 }), fakeView("b", { weight: 3 })];
    const ctx = fakeContext({ random: seededRandom(42) });
    const got = counts(["a", "b"], Array.from({ length: N }, () => s.pick(c, ctx)!.name));
    expect(got.a! / N).toBeCloseTo(0.25, 1);
    expect(Math.abs(got.a! / N - 0.25)).toBeLessThan(0.02);
  });

  it("weighted: false is uniform whatever the weights", () => {
    const s = createRandom(randomOptions.parse({ weighted: false }));
    const c = [fakeView("a", { weight: 1 }), fakeView("b", { weight: 9 }), fakeView("c", { weight: 5 })];
    const ctx = fakeContext({ random: seededRandom(3) });
    const got = counts(["a", "b", "c"], Array.from({ length: N }, () => s.pick(c, ctx)!.name));
    for (const n of ["a", "b", "c"]) expect(Math.abs(got[n]! / N - 1 / 3)).toBeLessThan(0.02);
  });
});

import { describe, expect, it } from "vitest";
import { counts, fakeContext, fakeView, seededRandom } from "../../test/helpers/fake-endpoint.js";
import { createLeastConnections, leastConnectionsOptions } from "./least-connections.js";

describe("least_connections", () => {
  it("picks the fewest in flight, and spreads picks as load builds", () => {
    const s = createLeastConnections();
    const c = [fakeView("a", { inFlight: 3 }), fakeView("b", { inFlight: 1 }), fakeView("c", { inFlight: 2 })];
    const ctx = fakeContext();
    expect(s.pick(c, ctx)!.name).toBe("b");
    // Each pick adds a call in flight: the next picks level the load.
    const seq = Array.from({ length: 6 }, () => {
      const v = s.pick(c, ctx)!;
      (v as { inFlight: number }).inFlight++;
      return v;
    });
    expect(c.map((v) => v.inFlight)).toEqual([4, 4, 4]);
    expect(seq.slice(0, 3).map((v) => v.name).sort()).toEqual(["b", "b", "c"]);
  });

  it("weighted: a weight-2 endpoint carries twice the calls", () => {
    const s = createLeastConnections();
    const c = [fakeView("a", { weight: 2 }), fakeView("b")];
    const ctx = fakeContext();
    for (let i = 0; i < 30; i++) (s.pick(c, ctx) as { inFlight: number }).inFlight++;
    expect(c.map((v) => v.inFlight)).toEqual([20, 10]);
    expect(createLeastConnections(leastConnectionsOptions.parse({ weighted: false })).scores!(c, ctx)).toEqual([20, 10]);
  });

  it("breaks ties at random", () => {
    const s = createLeastConnections();
    const c = [fakeView("a"), fakeView("b")];
    const ctx = fakeContext({ random: seededRandom(9) });
    const got = counts(["a", "b"], Array.from({ length: 4000 }, () => s.pick(c, ctx)!.name));
    expect(Math.abs(got.a! / 4000 - 0.5)).toBeLessThan(0.04);
  });
});

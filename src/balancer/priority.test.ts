import { describe, expect, it } from "vitest";
import { counts, fakeContext, fakeView } from "../../test/helpers/fake-endpoint.js";
import { createPriority, priorityOptions } from "./priority.js";
import { createStrategy } from "./registry.js";
import type { StrategyName } from "./names.js";

const make = (n: StrategyName) => createStrategy(n);

describe("priority", () => {
  it("keeps to the lowest tier present, weighted within it", () => {
    const s = createPriority(priorityOptions.parse({}), make);
    const p1a = fakeView("p1a", { priority: 1, weight: 3 });
    const p1b = fakeView("p1b", { priority: 1 });
    const p2 = fakeView("p2", { priority: 2 });
    const ctx = fakeContext();
    const got = counts(["p1a", "p1b", "p2"], Array.from({ length: 400 }, () => s.pick([p2, p1a, p1b], ctx)!.name));
    expect(got).toEqual({ p1a: 300, p1b: 100, p2: 0 });
  });

  it("goes to the next tier only when the pool leaves the tier above out", () => {
    const s = createPriority(priorityOptions.parse({}), make);
    const p1 = fakeView("p1", { priority: 1 });
    const p2 = fakeView("p2", { priority: 2 });
    const p3 = fakeView("p3", { priority: 3 });
    const ctx = fakeContext();
    // The pool passes only healthy, unsaturated, admitted endpoints.
    expect(s.pick([p3, p2], ctx)!.name).toBe("p2");
    expect(s.pick([p3], ctx)!.name).toBe("p3");
    expect(s.pick([p1, p2, p3], ctx)!.name).toBe("p1");
    expect(s.scores!([p1, p2, p3], ctx)).toEqual([1, 2, 3]);
  });

  it("chooses within a tier with the `within` strategy", () => {
    const s = createPriority(priorityOptions.parse({ within: "least_connections" }), make);
    const a = fakeView("a", { inFlight: 4 });
    const b = fakeView("b", { inFlight: 1 });
    expect(s.pick([a, b], fakeContext())!.name).toBe("b");
    expect(priorityOptions.safeParse({ within: "racing" }).error?.issues[0]?.message).toMatch(/unknown strategy "racing"/);
  });
});

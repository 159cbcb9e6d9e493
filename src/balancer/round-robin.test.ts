import { describe, expect, it } from "vitest";
import { fakeContext, fakeView } from "../../test/helpers/fake-endpoint.js";
import { createRoundRobin } from "./round-robin.js";

describe("round_robin", () => {
  it("takes each candidate in turn", () => {
    const s = createRoundRobin();
    const c = ["a", "b", "c"].map((n) => fakeView(n));
    const ctx = fakeContext();
    expect(Array.from({ length: 7 }, () => s.pick(c, ctx)!.name).join(" ")).toBe("a b c a b c a");
  });

  it("keeps going when a candidate drops out", () => {
    const s = createRoundRobin();
    const [a, b, c] = ["a", "b", "c"].map((n) => fakeView(n));
    const ctx = fakeContext();
    expect([s.pick([a!, b!, c!], ctx), s.pick([a!, b!, c!], ctx)].map((v) => v!.name)).toEqual(["a", "b"]);
    expect([s.pick([a!, c!], ctx), s.pick([a!, c!], ctx), s.pick([a!, c!], ctx)].map((v) => v!.name)).toEqual(["a", "c", "a"]);
  });
});

import { describe, expect, it } from "vitest";
import { WindowCounter } from "./window-counter.js";

describe("WindowCounter", () => {
  it("sums what was added within the window and forgets it as the window slides", () => {
    const w = new WindowCounter(60_000, 60);
    w.add(0, 3);
    w.add(30_500, 2);
    expect(w.sum(59_999)).toBe(5);
    expect(w.sum(60_000)).toBe(2); // the first second's bucket left
    expect(w.sum(90_999)).toBe(0);
  });

  it("says how long until there is room", () => {
    const w = new WindowCounter(60_000, 60);
    w.add(1_000, 5);
    w.add(10_000, 5);
    expect(w.waitFor(20_000, 1, 10)).toBe(41_000); // the 1 s bucket leaves at 61 s
    expect(w.waitFor(20_000, 6, 10)).toBe(50_000); // both must leave
    expect(w.waitFor(20_000, 11, 10)).toBe(Infinity);
    expect(w.waitFor(20_000, 0, 10)).toBe(0);
  });

  it("adjusts an earlier reservation only while it is in the window", () => {
    const w = new WindowCounter(60_000, 60);
    w.add(0, 100);
    w.adjust(0, 5_000, -60);
    expect(w.sum(5_000)).toBe(40);
    w.adjust(0, 5_000, 30);
    expect(w.sum(5_000)).toBe(70);
    w.adjust(0, 70_000, 1000); // long gone: ignored
    expect(w.sum(70_000)).toBe(0);
  });

  it("survives long idle gaps without walking every bucket", () => {
    const w = new WindowCounter(1000, 10);
    w.add(0, 1);
    expect(w.sum(1e12)).toBe(0);
    w.add(1e12, 2);
    expect(w.sum(1e12 + 50)).toBe(2);
  });
});

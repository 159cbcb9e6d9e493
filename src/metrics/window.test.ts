import { describe, expect, it } from "vitest";
import { SlidingWindow } from "./window.js";

describe("sliding window percentiles", () => {
  it("takes nearest-rank percentiles of the samples inside the window", () => {
    const w = new SlidingWindow(1000, 256, 0);
    for (let i = 1; i <= 100; i++) w.record(i, i);
    expect(w.size(100)).toBe(100);
    expect(w.percentile(50, 100)).toBe(50);
    expect(w.percentile(95, 100)).toBe(95);
    expect(w.percentile(99, 100)).toBe(99);
    expect(w.percentile(100, 100)).toBe(100);
  });

  it("forgets samples older than the window and beyond its capacity", () => {
    const w = new SlidingWindow(1000, 4, 0);
    expect(w.percentile(50, 0)).toBeUndefined();
    for (let i = 0; i < 6; i++) w.record(i * 100, 10 * (i + 1)); // capacity 4 keeps 30..60
    expect(w.size(500)).toBe(4);
    expect(w.percentile(0, 500)).toBe(30);
    expect(w.size(1350)).toBe(2); // t=400 and t=500 remain
    expect(w.percentile(50, 1350)).toBe(50);
    expect(w.size(5000)).toBe(0);
  });
});

import { describe, expect, it } from "vitest";
import { RetryBudget } from "./retry-budget.js";

describe("RetryBudget", () => {
  it("allows min_per_s retries a second whatever the traffic", () => {
    const b = new RetryBudget(() => ({ enabled: true, ratio: 0, min_per_s: 1 }));
    let ok = 0;
    for (let i = 0; i < 20; i++) if (b.tryRetry(0)) ok++;
    expect(ok).toBe(10); // 1/s over the 10 s window
    expect(b.refused).toBe(10);
    expect(b.tryRetry(11_000)).toBe(true); // the window moved on
  });

  it("allows ratio × requests retries over the window", () => {
    const b = new RetryBudget(() => ({ enabled: true, ratio: 0.2, min_per_s: 0 }));
    for (let i = 0; i < 100; i++) b.onRequest(i * 10);
    let ok = 0;
    for (let i = 0; i < 50; i++) if (b.tryRetry(1000)) ok++;
    expect(ok).toBe(20);
  });

  it("is off when disabled", () => {
    const b = new RetryBudget(() => ({ enabled: false, ratio: 0, min_per_s: 0 }));
    for (let i = 0; i < 100; i++) expect(b.tryRetry(0)).toBe(true);
  });
});

import { describe, expect, it } from "vitest";
import { createHedgeBudget } from "./hedge-budget.js";

describe("hedge budget", () => {
  it("allows about ratio * requests hedges, plus the burst, never more", () => {
    const b = createHedgeBudget(0.1);
    let hedges = 0;
    // Every request wants to hedge.
    for (let i = 0; i < 10_000; i++) {
      b.deposit();
      if (b.tryWithdraw()) hedges++;
    }
    expect(hedges).toBeGreaterThanOrEqual(999);
    expect(hedges).toBeLessThanOrEqual(1001);
  });

  it("saves up to the burst while calm and refunds hedges that could not be sent", () => {
    const b = createHedgeBudget(0.5, 10);
    for (let i = 0; i < 100; i++) b.deposit();
    expect(b.tokens).toBe(10);
    let n = 0;
    while (b.tryWithdraw()) n++;
    expect(n).toBe(10);
    b.refund();
    expect(b.tryWithdraw()).toBe(true);
    expect(b.tryWithdraw()).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import { createMemoryKeyLimitStore } from "../limits/key-limits.js";
import { createMemoryCounters, type SharedCounters } from "./counters.js";
import { createSharedKeyLimitStore } from "./key-limit-store.js";

describe("shared key limits", () => {
  it("two replicas on the same counters share one key's rpm and tpm", async () => {
    const counters = createMemoryCounters();
    const a = createSharedKeyLimitStore(counters, createMemoryKeyLimitStore());
    const b = createSharedKeyLimitStore(counters, createMemoryKeyLimitStore());
    const t = 1_700_000_000_000;
    expect(await a.take("k", { rpm: 2 }, 0, t)).toBe(0);
    expect(await b.take("k", { rpm: 2 }, 0, t + 1)).toBe(0);
    expect(await a.take("k", { rpm: 2 }, 0, t + 2)).toBeGreaterThan(0);
    expect(await b.take("k", { rpm: 2 }, 0, t + 3)).toBeGreaterThan(0);
    expect(await a.take("other", { rpm: 2 }, 0, t + 4)).toBe(0);
    expect(await a.take("k", { rpm: 2 }, 0, t + 61_000)).toBe(0);
    // tpm: a refused take gives its request slot back.
    expect(await a.take("j", { rpm: 5, tpm: 100 }, 90, t)).toBe(0);
    expect(await b.take("j", { rpm: 5, tpm: 100 }, 20, t + 1)).toBeGreaterThan(0);
    a.settle("j", t, -80, t + 2); // the first call used only 10
    await new Promise((r) => setTimeout(r, 0));
    expect(await b.take("j", { rpm: 5, tpm: 100 }, 20, t + 3)).toBe(0);
  });

  it("falls back to this replica's own counts when the backend fails", async () => {
    const down: SharedCounters = { take: () => Promise.reject(new Error("down")), adjust: () => Promise.reject(new Error("down")) };
    const s = createSharedKeyLimitStore(down, createMemoryKeyLimitStore());
    expect(await s.take("k", { rpm: 1 }, 0, 1000)).toBe(0);
    expect(await s.take("k", { rpm: 1 }, 0, 1001)).toBeGreaterThan(0);
  });
});

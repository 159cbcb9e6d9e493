import { describe, expect, it } from "vitest";
import { createStatsHistory } from "./history.js";

describe("stats history", () => {
  it("keeps the last `keep` samples per provider, oldest first, bounded", () => {
    let t = 1000;
    const counters = new Map([["a", { requests: 0, failures: 0, p50Ms: 5 }]]);
    const h = createStatsHistory({ source: { providers: () => [...counters].map(([name, c]) => ({ name, ...c })) }, keep: 3, now: () => t });
    for (let i = 1; i <= 5; i++) {
      counters.get("a")!.requests = i * 10;
      if (i === 4) counters.set("b", { requests: 1, failures: 1, p50Ms: 2 });
      h.sample();
      t += 1000;
    }
    const s = h.snapshot();
    expect(s.at).toEqual([3000, 4000, 5000]);
    expect(s.providers.a!.requests).toEqual([30, 40, 50]);
    expect(s.providers.b!.requests).toEqual([null, 1, 1]); // b appeared at the 4th sample
    counters.delete("a");
    h.sample();
    expect(Object.keys(h.snapshot().providers)).toEqual(["b"]);
  });
});

import { describe, expect, it } from "vitest";
import { count, duration, ms, pct, RateHistory, usd } from "./format.js";

describe("dashboard formatting", () => {
  it("formats money, counts, times and shares", () => {
    expect(usd(0)).toBe("$0");
    expect(usd(0.0000099)).toBe("$0.000010");
    expect(usd(1.23456)).toBe("$1.2346");
    expect(usd(1234.5)).toBe("$1234.50");
    expect(count(12n)).toBe("12");
    expect(count(12_345)).toBe("12.3k");
    expect(count(2_500_000)).toBe("2.50M");
    expect(ms(0)).toBe("–");
    expect(ms(4.25)).toBe("4.3 ms");
    expect(ms(1500)).toBe("1.50 s");
    expect(pct(0.05)).toBe("5.0%");
    expect(pct(0.5)).toBe("50%");
    expect(duration(3725)).toBe("1h 2m");
    expect(duration(90_000)).toBe("1d 1h");
  });

  it("turns counter snapshots into rates, surviving resets and removed providers", () => {
    const h = new RateHistory(3);
    expect(h.push(1000, new Map([["a", 10]]))).toEqual(new Map([["a", 0]]));
    expect(h.push(3000, new Map([["a", 30], ["b", 4]]))).toEqual(new Map([["a", 10], ["b", 0]]));
    expect(h.push(4000, new Map([["a", 5], ["b", 6]]))).toEqual(new Map([["a", 5], ["b", 2]]));
    h.push(5000, new Map([["a", 6]]));
    expect(h.series.get("a")).toEqual([10, 5, 1]);
    expect(h.series.has("b")).toBe(false);
  });
});

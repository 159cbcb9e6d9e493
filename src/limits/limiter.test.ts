import { describe, expect, it } from "vitest";
import { ProviderError } from "../core/errors.js";
import { effectiveConcurrency, Limiter } from "./limiter.js";

const limits = (o: Partial<{ rpm: number; rpd: number; tpm: number; max_concurrency: number }> = {}) => ({
  rpm: 0,
  rpd: 0,
  tpm: 0,
  max_concurrency: 0,
  ...o,
});

describe("Limiter with shared state", () => {
  it("leaves windows and concurrency to the cluster while it answers, and falls back to its share at once", () => {
    let active = true;
    const l = new Limiter(limits({ rpm: 9, max_concurrency: 4 }), () => 1000, { active: () => active, replicas: 3 });
    for (let t = 0; t < 5; t++) {
      expect(l.check(10, 0, t)).toBeUndefined();
      l.onStart(0, t);
    }
    // A cool-down this replica saw still holds while shared.
    l.onFailure(new ProviderError({ provider: "p", kind: "rate_limited", message: "429", retryAfterMs: 500 }), 10);
    expect(l.check(0, 0, 20)).toMatchObject({ reason: "cooling down for 490 ms (upstream 429)" });
    active = false;
    // Down: 9 / 3 = 3 a minute and 4 / 3 = 1 at once for this replica, which made 5 calls already.
    expect(l.check(1, 0, 1000)).toMatchObject({ reason: "max_concurrency 1 reached" });
    expect(l.check(0, 0, 1000)).toMatchObject({ reason: "rpm 3 reached" });
    expect(l.status(1000, 0)).toMatchObject({ rpmLimit: 3, maxConcurrency: 1 });
    active = true;
    expect(l.status(1000, 0)).toMatchObject({ rpmLimit: 9, maxConcurrency: 4 });
  });
});

describe("Limiter", () => {
  it("caps concurrency", () => {
    const l = new Limiter(limits({ max_concurrency: 2 }), () => 1000);
    expect(l.check(1, 0, 0)).toBeUndefined();
    expect(l.check(2, 0, 0)).toMatchObject({ kind: "exhausted", reason: "max_concurrency 2 reached" });
  });

  it("counts rpm over a sliding minute and says when there is room", () => {
    const l = new Limiter(limits({ rpm: 3 }), () => 1000);
    for (let t = 0; t < 3; t++) {
      expect(l.check(0, 0, t * 1000)).toBeUndefined();
      l.onStart(0, t * 1000);
    }
    expect(l.check(0, 0, 5000)).toEqual({ kind: "exhausted", reason: "rpm 3 reached", retryAfterMs: 55_000 }); // the 0 s call leaves at 60 s
    expect(l.status(5000, 7)).toMatchObject({ rpmLimit: 3, rpmRemaining: 0, rejections: 7 });
    expect(l.check(0, 0, 61_000)).toBeUndefined();
  });

  it("reserves prompt tokens against tpm and settles them by real usage", () => {
    const l = new Limiter(limits({ tpm: 1000 }), () => 1000);
    l.onStart(600, 0);
    expect(l.check(0, 500, 10)).toMatchObject({ kind: "exhausted", reason: "tpm 1000 reached" });
    l.settle(0, 600, 300, 20); // it really used 300 (prompt + completion)
    expect(l.check(0, 500, 30)).toBeUndefined();
    expect(l.status(30, 0).tpmRemaining).toBe(700);
    expect(l.check(0, 5000, 30)).toMatchObject({ kind: "unavailable", reason: "prompt of ~5000 tokens exceeds tpm 1000" });
  });

  it("cools down for a 429's retry delay, or the default without one", () => {
    const l = new Limiter(limits(), () => 800);
    l.onFailure(new ProviderError({ provider: "p", kind: "rate_limited", status: 429, message: "slow down", retryAfterMs: 2000 }), 1000);
    expect(l.check(0, 0, 1500)).toEqual({ kind: "exhausted", reason: "cooling down for 1500 ms (upstream 429)", retryAfterMs: 1500 });
    expect(l.cooldownRemaining(1500)).toBe(1500);
    expect(l.check(0, 0, 3000)).toBeUndefined();
    l.onFailure(new ProviderError({ provider: "p", kind: "rate_limited", status: 429, message: "slow down" }), 10_000);
    expect(l.cooldownRemaining(10_000)).toBe(800);
    // A 5xx without a retry delay is the breaker's business, not a cool-down.
    l.onFailure(new ProviderError({ provider: "p", kind: "server", status: 500, message: "boom" }), 20_000);
    expect(l.cooldownRemaining(20_000)).toBe(0);
    // A 503 that names a delay is honoured.
    l.onFailure(new ProviderError({ provider: "p", kind: "overloaded", status: 503, message: "busy", retryAfterMs: 300 }), 30_000);
    expect(l.check(0, 0, 30_100)?.reason).toBe("cooling down for 200 ms (upstream asked to retry later (overloaded))");
  });

  it("paces calls when the upstream's remaining budget runs low and stops at zero", () => {
    const l = new Limiter(limits(), () => 1000);
    // 500 left of 1000: plenty, no pacing.
    l.observe({ limitRequests: 1000, remainingRequests: 500, resetRequestsMs: 10_000 }, 0);
    l.onStart(0, 0);
    expect(l.check(0, 0, 0)).toBeUndefined();
    // 4 left with 8 s to go (reset at 9 s): what is left is spread over the time left.
    l.observe({ limitRequests: 1000, remainingRequests: 4, resetRequestsMs: 8_000 }, 1000);
    l.onStart(0, 1000); // 3 left: next at 1000 + 8000 / 4
    expect(l.check(0, 0, 1000)).toMatchObject({ kind: "exhausted", retryAfterMs: 2000 });
    expect(l.check(0, 0, 3000)).toBeUndefined();
    l.onStart(0, 3000); // 2 left: next at 3000 + 6000 / 3
    expect(l.check(0, 0, 4999)).toMatchObject({ kind: "exhausted", retryAfterMs: 1 });
    l.onStart(0, 5000);
    l.onStart(0, 7000); // 0 left
    expect(l.check(0, 0, 7500)).toMatchObject({ kind: "exhausted", reason: "upstream request budget spent; resets in 1500 ms", retryAfterMs: 1500 });
    expect(l.cooldownRemaining(7500)).toBe(1500);
    expect(l.check(0, 0, 9000)).toBeUndefined(); // the upstream's window reset
  });

  it("holds a request bigger than the upstream's token budget until it resets", () => {
    const l = new Limiter(limits(), () => 1000);
    l.observe({ remainingTokens: 500, resetTokensMs: 3000 }, 0);
    expect(l.check(0, 400, 10)).toBeUndefined();
    l.onStart(400, 10);
    expect(l.check(0, 400, 20)).toMatchObject({ kind: "exhausted", retryAfterMs: 2980 });
  });

  it("uses the reset time of a 429 that sent no retry-after", () => {
    const l = new Limiter(limits(), () => 1000);
    const rateLimit = { remainingRequests: 0, resetRequestsMs: 4000 };
    l.onFailure(new ProviderError({ provider: "p", kind: "rate_limited", status: 429, message: "x", rateLimit }), 0);
    expect(l.cooldownRemaining(0)).toBe(4000);
  });
});

describe("connection capacity", () => {
  it("the smaller of max_concurrency and the connection capacity caps calls in flight", () => {
    expect(effectiveConcurrency(0, undefined)).toBe(0);
    expect(effectiveConcurrency(0, 8)).toBe(8);
    expect(effectiveConcurrency(4, 8)).toBe(4);
    expect(effectiveConcurrency(16, 8)).toBe(8);
    const l = new Limiter(limits({ max_concurrency: 16 }), () => 1000, undefined, 8);
    expect(l.check(7, 0, 0)).toBeUndefined();
    expect(l.check(8, 0, 0)).toEqual({ kind: "exhausted", reason: "connection capacity 8 reached (connections)" });
  });
});

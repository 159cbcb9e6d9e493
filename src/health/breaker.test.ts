/**
 * The breaker's reset timer is opossum's own setTimeout, so these tests run on vitest's fake
 * timers, which also fake performance.now() behind systemClock: one fake time for both.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { providerConfig } from "../../test/helpers/endpoints.js";
import { systemClock } from "../util/clock.js";
import { Breaker, type BreakerState } from "./breaker.js";

const cfg = (o: Record<string, unknown> = {}) => providerConfig("p", { circuit_breaker: { failure_threshold: 3, reset_timeout_ms: 1000, ...o } }).circuit_breaker;
const tick = () => vi.advanceTimersByTimeAsync(0);

describe("Breaker", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("opens after failure_threshold failures in a row, half-opens after reset_timeout_ms, closes on a trial success", async () => {
    const seen: BreakerState[] = [];
    const b = new Breaker("p", cfg(), systemClock, (s) => seen.push(s));
    for (const v of ["failure", "failure", "success", "failure", "failure"] as const) b.record(b.onStart(), v);
    await tick();
    expect(b.state).toBe("closed"); // the success broke the streak
    b.record(b.onStart(), "failure");
    expect(b.state).toBe("open");
    expect(b.check(performance.now())).toMatchObject({ kind: "unavailable", reason: "circuit breaker open", retryAfterMs: 1000 });
    await vi.advanceTimersByTimeAsync(400);
    expect(b.resetIn(performance.now())).toBe(600);
    await vi.advanceTimersByTimeAsync(600);
    expect(b.state).toBe("half_open");
    expect(b.check(performance.now())).toBeUndefined();
    const trial = b.onStart();
    expect(b.check(performance.now())).toMatchObject({ reason: "circuit breaker half-open: 1 trial request(s) in flight" });
    b.record(trial, "success");
    await tick();
    expect(b.state).toBe("closed");
    expect(seen).toEqual(["open", "half_open", "closed"]);
    expect(b.opens).toBe(1);
    b.shutdown();
  });

  it("a passing health probe closes a half-open breaker, but not an open one", async () => {
    const b = new Breaker("p", cfg(), systemClock);
    for (let i = 0; i < 3; i++) b.record(b.onStart(), "failure");
    expect(b.state).toBe("open");
    b.probePassed();
    expect(b.state).toBe("open"); // the reset timeout still runs its course
    await vi.advanceTimersByTimeAsync(1000);
    expect(b.state).toBe("half_open");
    b.probePassed();
    expect(b.state).toBe("closed");
    expect(b.check(performance.now())).toBeUndefined();
    b.shutdown();
  });

  it("re-opens when the trial fails, for another reset_timeout_ms", async () => {
    const b = new Breaker("p", cfg(), systemClock);
    for (let i = 0; i < 3; i++) b.record(b.onStart(), "failure");
    await vi.advanceTimersByTimeAsync(1000);
    expect(b.state).toBe("half_open");
    b.record(b.onStart(), "failure");
    await tick();
    expect(b.state).toBe("open");
    await vi.advanceTimersByTimeAsync(999);
    expect(b.state).toBe("open");
    await vi.advanceTimersByTimeAsync(1);
    expect(b.state).toBe("half_open");
    b.shutdown();
  });

  it("lets half_open_requests trials through; a neutral outcome frees a slot without deciding", async () => {
    const b = new Breaker("p", cfg({ half_open_requests: 2 }), systemClock);
    const stale = b.onStart(); // in flight before the breaker opened
    for (let i = 0; i < 3; i++) b.record(b.onStart(), "failure");
    await vi.advanceTimersByTimeAsync(1000);
    const t1 = b.onStart();
    const t2 = b.onStart();
    expect(b.check(performance.now())?.reason).toMatch(/2 trial/);
    b.record(stale, "success"); // from before: proves nothing about now
    expect(b.state).toBe("half_open");
    b.record(t1, "neutral"); // e.g. a 429 or a cancel
    expect(b.check(performance.now())).toBeUndefined();
    b.record(t2, "success");
    await tick();
    expect(b.state).toBe("closed");
    b.shutdown();
  });

  it("opens on the failure ratio over the window once min_requests calls are in it", async () => {
    const b = new Breaker("p", cfg({ failure_threshold: 100, failure_ratio: 0.5, min_requests: 10, window_ms: 10_000 }), systemClock);
    const call = async (v: "success" | "failure") => {
      b.record(b.onStart(), v);
      await tick(); // calls end one by one: opossum judges the ratio as each failure comes in
    };
    for (let i = 0; i < 9; i++) await call(i < 3 ? "success" : "failure"); // 6 of 9 failed: too few calls to judge
    expect(b.state).toBe("closed");
    // The window slides: those calls leave it.
    await vi.advanceTimersByTimeAsync(11_000);
    for (let i = 0; i < 5; i++) await call("success");
    for (let i = 0; i < 5; i++) await call("failure");
    expect(b.state).toBe("closed"); // 5 of 10: not above 50%
    await call("failure");
    expect(b.state).toBe("open"); // 6 of 11
    b.shutdown();
  });

  it("ignores neutral outcomes and never opens on a ratio of 0", async () => {
    const b = new Breaker("p", cfg({ failure_threshold: 2, failure_ratio: 0, min_requests: 1 }), systemClock);
    for (let i = 0; i < 20; i++) {
      b.record(b.onStart(), "failure");
      b.record(b.onStart(), "neutral");
      b.record(b.onStart(), "success");
    }
    await tick();
    expect(b.state).toBe("closed");
    b.shutdown();
  });
});

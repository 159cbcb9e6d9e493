import { describe, expect, it } from "vitest";
import { createFakeClock } from "../util/clock.js";
import { complete, counts, fakeContext, fakeView, seededRandom, type FakeView } from "../../test/helpers/fake-endpoint.js";
import { adaptiveOptions, createAdaptive } from "./adaptive.js";

/**
 * Drive adaptive in a closed loop: every `stepMs` one request is picked and completes at once
 * with the latency (and outcome) the `truth` gives for that endpoint at that time.
 */
function simulate(
  views: FakeView[],
  truth: (name: string, t: number) => { ms: number; ok?: boolean },
  fromMs: number,
  toMs: number,
  opts = adaptiveOptions.parse({ explore_rate: 0 }),
  stepMs = 50,
) {
  const clock = createFakeClock(fromMs);
  const s = createAdaptive(opts);
  const ctx = fakeContext({ random: seededRandom(1) });
  const picks: string[] = [];
  while (clock.now() < toMs) {
    ctx.now = clock.now();
    const v = s.pick(views, ctx) as FakeView;
    picks.push(v.name);
    const t = truth(v.name, ctx.now);
    complete(v, ctx.now, t.ms, t.ok ?? true);
    clock.advance(stepMs);
  }
  return { picks, share: (name: string) => picks.filter((p) => p === name).length / picks.length, s, ctx };
}

describe("adaptive", () => {
  it("tries unmeasured endpoints first, then prefers the fastest", () => {
    const views = [fakeView("a"), fakeView("b"), fakeView("c")];
    const lat: Record<string, number> = { a: 300, b: 100, c: 200 };
    const run = simulate(views, (n) => ({ ms: lat[n]! }), 0, 10_000);
    expect(new Set(run.picks.slice(0, 3))).toEqual(new Set(["a", "b", "c"]));
    expect(run.share("b")).toBeGreaterThan(0.9);
  });

  it("moves away from an endpoint that slows down, and back when it recovers", () => {
    const views = [fakeView("a"), fakeView("b")];
    // a: 100 ms, except 500 ms between 20 s and 40 s; b: 150 ms throughout.
    const truth = (n: string, t: number) => ({ ms: n === "b" ? 150 : t >= 20_000 && t < 40_000 ? 500 : 100 });
    const phase1 = simulate(views, truth, 0, 20_000);
    expect(phase1.share("a")).toBeGreaterThan(0.9);
    const phase2 = simulate(views, truth, 20_000, 40_000);
    // The first slow answer moves traffic on the next pick; probes stay rare.
    expect(phase2.share("b")).toBeGreaterThan(0.9);
    const phase3 = simulate(views, truth, 40_000, 80_000);
    // A probe finds a recovered: within the phase it is the favourite again.
    const lateShare = phase3.picks.slice(-200).filter((p) => p === "a").length / 200;
    expect(lateShare).toBeGreaterThan(0.9);
  });

  it("moves away from an endpoint that fails, and back when it recovers", () => {
    const views = [fakeView("a"), fakeView("b")];
    // a is faster but fails every call between 10 s and 30 s.
    const truth = (n: string, t: number) => (n === "b" ? { ms: 120 } : { ms: 100, ok: !(t >= 10_000 && t < 30_000) });
    const before = simulate(views, truth, 0, 10_000);
    expect(before.share("a")).toBeGreaterThan(0.9);
    const during = simulate(views, truth, 10_000, 30_000);
    expect(during.share("b")).toBeGreaterThan(0.9);
    const after = simulate(views, truth, 30_000, 90_000);
    expect(after.picks.slice(-200).filter((p) => p === "a").length / 200).toBeGreaterThan(0.9);
  });

  it("spreads load by calls in flight and weight", () => {
    const s = createAdaptive(adaptiveOptions.parse({ explore_rate: 0 }));
    const ctx = fakeContext({ now: 1 });
    const view = (name: string, ms: number, weight = 1) => fakeView(name, { ewmaLatencyMs: ms, samples: 10, lastCompletedAt: 1, weight });
    const load = (views: FakeView[], n: number) => {
      for (let i = 0; i < n; i++) (s.pick(views, ctx) as FakeView).inFlight++;
      return views.map((v) => v.inFlight);
    };
    // Equal latency: equal shares; weight 2 carries twice the calls.
    expect(load([view("a", 100), view("b", 100)], 10)).toEqual([5, 5]);
    expect(load([view("a", 100, 2), view("b", 100)], 30)).toEqual([20, 10]);
    // Twice as slow: the fast one keeps the traffic until 50 calls in flight make it look as slow.
    expect(load([view("c", 100), view("d", 200)], 60)).toEqual([56, 4]);
    // A higher in-flight penalty spreads sooner.
    const eager = createAdaptive(adaptiveOptions.parse({ explore_rate: 0, inflight_penalty: 0.5 }));
    const e = [view("e", 100), view("f", 200)];
    for (let i = 0; i < 20; i++) (eager.pick(e, ctx) as FakeView).inFlight++;
    expect(e.map((v) => v.inFlight)).toEqual([14, 6]);
  });

  it("sees a slowdown in the age of calls in flight before any slow call completes", () => {
    const s = createAdaptive(adaptiveOptions.parse({ explore_rate: 0 }));
    const a = fakeView("a", { ewmaLatencyMs: 100, samples: 50, lastCompletedAt: 1000, inFlight: 3, inFlightSince: 1000 });
    const b = fakeView("b", { ewmaLatencyMs: 300, samples: 50, lastCompletedAt: 1000, inFlight: 3, inFlightSince: 1000 });
    expect(s.pick([a, b], fakeContext({ now: 1100 }))!.name).toBe("a");
    // a's calls have been out 500 ms on average: it is slower than its EWMA says.
    expect(s.pick([a, b], fakeContext({ now: 1500 }))!.name).toBe("b");
  });

  it("judges streams by time to first token", () => {
    const s = createAdaptive(adaptiveOptions.parse({ explore_rate: 0 }));
    // a: quick first token, slow to finish; b: the opposite.
    const a = fakeView("a", { ewmaLatencyMs: 2000, ewmaTtftMs: 100, samples: 10, lastCompletedAt: 1 });
    const b = fakeView("b", { ewmaLatencyMs: 800, ewmaTtftMs: 600, samples: 10, lastCompletedAt: 1 });
    expect(s.pick([a, b], fakeContext({ now: 1, stream: true }))!.name).toBe("a");
    expect(s.pick([a, b], fakeContext({ now: 1, stream: false }))!.name).toBe("b");
    expect(s.scores!([a, b], fakeContext({ now: 1, stream: true }))).toEqual([100, 600]);
  });

  it("explores at explore_rate", () => {
    const s = createAdaptive(adaptiveOptions.parse({ explore_rate: 0.1 }));
    const a = fakeView("a", { ewmaLatencyMs: 100, samples: 10, lastCompletedAt: 1 });
    const b = fakeView("b", { ewmaLatencyMs: 1000, samples: 10, lastCompletedAt: 1 });
    const ctx = fakeContext({ now: 1, random: seededRandom(4) });
    const got = counts(["a", "b"], Array.from({ length: 10_000 }, () => s.pick([a, b], ctx)!.name));
    expect(Math.abs(got.b! / 10_000 - 0.05)).toBeLessThan(0.01);
  });
});

describe("adaptive with a hanging endpoint", () => {
  it("does not pile calls onto an endpoint whose calls never complete", () => {
    const s = createAdaptive(adaptiveOptions.parse({ explore_rate: 0 }));
    // hang was the fastest, then stopped answering: its calls stay in flight.
    const hang = fakeView("hang", { ewmaLatencyMs: 50, samples: 10, lastCompletedAt: 1000 });
    const ok = fakeView("ok", { ewmaLatencyMs: 100, samples: 10, lastCompletedAt: 1000 });
    const ctx = fakeContext();
    const starts: number[] = [];
    for (let t = 1000; t < 60_000; t += 10) {
      ctx.now = t;
      const v = s.pick([hang, ok], ctx) as FakeView;
      if (v === hang) {
        hang.inFlight++;
        starts.push(t);
        hang.inFlightSince = starts.reduce((a, b) => a + b, 0) / starts.length;
      } else complete(ok, t, 100);
    }
    // Only until its calls have been out longer than ok takes to answer.
    expect(hang.inFlight).toBeLessThanOrEqual(20);
    expect(Math.max(...starts)).toBeLessThan(1300);
  });
});

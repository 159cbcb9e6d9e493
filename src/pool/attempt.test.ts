import { describe, expect, it } from "vitest";
import { makeEndpoint } from "../../test/helpers/endpoints.js";
import { ProviderError } from "../core/errors.js";
import { createFakeClock } from "../util/clock.js";
import { attemptSignal, delay, StallWatch } from "./attempt.js";
import { ChunkGaps } from "./chunk-gaps.js";
import { codePoints } from "./stream-resume.js";

describe("attemptSignal", () => {
  it("aborts on the attempt timeout, on the caller, or when told (a stall)", () => {
    const clock = createFakeClock();
    const parent = new AbortController();
    const a = attemptSignal(parent.signal, 1000, "p", clock);
    clock.advance(1000);
    expect((a.signal.reason as ProviderError).message).toBe("no answer within timeout_ms (1000 ms)");
    const b = attemptSignal(parent.signal, 1000, "p", clock);
    b.clearTimeout();
    clock.advance(5000);
    expect(b.signal.aborted).toBe(false);
    b.abort(new ProviderError({ provider: "p", kind: "timeout", message: "stalled" }));
    expect((b.signal.reason as ProviderError).message).toBe("stalled");
    const c = attemptSignal(parent.signal, 1000, "p", clock);
    parent.abort("gone");
    expect(c.signal.reason).toBe("gone");
    c.done();
  });

  it("delay resolves after ms or rejects when aborted", async () => {
    const clock = createFakeClock();
    const ac = new AbortController();
    const p = delay(100, ac.signal, clock);
    clock.advance(100);
    await expect(p).resolves.toBeUndefined();
    const q = delay(100, ac.signal, clock);
    ac.abort("bye");
    await expect(q).rejects.toBe("bye");
  });
});

describe("StallWatch", () => {
  it("fires after the threshold of silence, with one timer per period however many chunks come", () => {
    const clock = createFakeClock();
    const stalls: number[] = [];
    const w = new StallWatch(clock, () => 100, (silent) => stalls.push(silent));
    w.start(clock.now());
    for (let i = 0; i < 50; i++) {
      clock.advance(10);
      w.touch(clock.now());
    }
    expect(clock.pending()).toBe(1);
    expect(stalls).toEqual([]);
    clock.advance(99);
    expect(stalls).toEqual([]);
    clock.advance(1);
    expect(stalls).toEqual([100]);
    w.stop();
    expect(clock.pending()).toBe(0);
  });
});

describe("stream resume helpers", () => {
  it("stall threshold: k × the provider's mean chunk gap, within [min, max]", () => {
    const clock = createFakeClock();
    const e = makeEndpoint("p", clock);
    const s = { resume: true, stall_factor: 10, stall_min_ms: 500, stall_max_ms: 5000 };
    const gaps = new ChunkGaps<typeof e>();
    const stallThreshold = gaps.stallThreshold.bind(gaps);
    expect(stallThreshold(e, s)).toBe(5000); // no history yet
    gaps.record(e, 20);
    expect(stallThreshold(e, s)).toBe(500);
    for (let i = 0; i < 100; i++) gaps.record(e, 200);
    expect(stallThreshold(e, s)).toBeCloseTo(2000, 0);
    for (let i = 0; i < 100; i++) gaps.record(e, 2000);
    expect(stallThreshold(e, s)).toBe(5000);
  });

  it("counts offsets in Unicode code points", () => {
    expect(codePoints("abc")).toBe(3);
    expect(codePoints("héllo")).toBe(5);
    expect(codePoints("a😀b")).toBe(3);
  });
});

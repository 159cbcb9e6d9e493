import { describe, expect, it } from "vitest";
import type { GateBlock } from "../core/gate.js";
import { createFakeClock } from "../util/clock.js";
import { makeEndpoint } from "../../test/helpers/endpoints.js";
import { Admission, createWaiter, limitedOnly } from "./admission.js";

const blocks = (...b: [string, GateBlock][]) => new Map(b);
const saturated: GateBlock = { kind: "exhausted", reason: "max_concurrency 1 reached" };
const cooling = (ms: number): GateBlock => ({ kind: "exhausted", reason: "cooling down", retryAfterMs: ms });

describe("Admission", () => {
  const setup = (max_size = 10, timeout_ms = 5000) => {
    const clock = createFakeClock();
    const adm = new Admission(() => ({ max_size, timeout_ms }), clock);
    const a = makeEndpoint("a", clock);
    const b = makeEndpoint("b", clock);
    return { clock, adm, a, b };
  };

  it("tells a limit that lifts from sickness", () => {
    expect(limitedOnly(blocks(["a", saturated]))).toBe(true);
    expect(limitedOnly(blocks(["a", { kind: "unavailable", reason: "breaker" }]))).toBe(false);
    expect(limitedOnly(blocks())).toBe(false);
  });

  it("wakes a waiter when a provider it can use frees a slot", async () => {
    const { adm, a, b } = setup();
    const w = createWaiter(0, (e) => e === a);
    const p = adm.wait(w, blocks(["a", saturated]), new AbortController().signal);
    expect(adm.depth).toBe(1);
    adm.release(b); // not one it can use
    expect(adm.depth).toBe(1);
    adm.release(a);
    await expect(p).resolves.toEqual({ kind: "woken" });
    expect(adm.depth).toBe(0);
    expect(w.wokenBy).toBe(a);
  });

  it("wakes when the earliest cool-down ends, and times out at queue.timeout_ms", async () => {
    const { clock, adm, a } = setup(10, 5000);
    const w = createWaiter(0, () => true);
    const p = adm.wait(w, blocks(["a", cooling(3000)], ["b", cooling(1000)]), new AbortController().signal);
    clock.advance(999);
    expect(adm.depth).toBe(1);
    clock.advance(1);
    await expect(p).resolves.toEqual({ kind: "woken" });
    clock.advance(10_000); // busy with an attempt elsewhere: not waiting, so not counted
    // Still blocked: wait again, now only by a saturated provider; queue.timeout_ms bounds the total wait.
    const p2 = adm.wait(w, blocks(["a", saturated]), new AbortController().signal);
    clock.advance(4000);
    await expect(p2).resolves.toEqual({ kind: "timeout", waitedMs: 5000, retryAfterMs: undefined });
    expect(adm.depth).toBe(0);
    void a;
  });

  it("refuses at once when every limit lifts too late for the deadline, or the queue is full", async () => {
    const { clock, adm } = setup(1, 60_000);
    const late = createWaiter(0, () => true, clock.now() + 500);
    await expect(adm.wait(late, blocks(["a", cooling(2000)]), new AbortController().signal)).resolves.toEqual({ kind: "unfit", retryAfterMs: 2000 });
    const first = createWaiter(0, () => true);
    void adm.wait(first, blocks(["a", saturated]), new AbortController().signal);
    const second = createWaiter(0, () => true);
    await expect(adm.wait(second, blocks(["a", cooling(700)]), new AbortController().signal)).resolves.toEqual({ kind: "full", retryAfterMs: 700 });
    expect(adm.depth).toBe(1);
  });

  it("leaves the queue when the caller goes away, and on shutdown", async () => {
    const { adm } = setup();
    const ac = new AbortController();
    const p = adm.wait(createWaiter(0, () => true), blocks(["a", saturated]), ac.signal);
    ac.abort();
    await expect(p).resolves.toEqual({ kind: "aborted" });
    expect(adm.depth).toBe(0);
    const p2 = adm.wait(createWaiter(0, () => true), blocks(["a", saturated]), new AbortController().signal);
    adm.close();
    await expect(p2).resolves.toEqual({ kind: "woken" });
    await expect(adm.wait(createWaiter(0, () => true), blocks(["a", saturated]), new AbortController().signal)).resolves.toEqual({ kind: "closed" });
  });

  it("passes a wake-up on when the woken waiter cannot use it", async () => {
    const { adm, a } = setup();
    const first = createWaiter(5, () => true);
    const second = createWaiter(0, () => true);
    const p1 = adm.wait(first, blocks(["a", saturated]), new AbortController().signal);
    const p2 = adm.wait(second, blocks(["a", saturated]), new AbortController().signal);
    adm.release(a);
    await expect(p1).resolves.toEqual({ kind: "woken" });
    // `first` lost the slot to someone else: it re-queues (keeping its place) and passes on.
    const p1b = adm.wait(first, blocks(["a", saturated]), new AbortController().signal);
    adm.passOn(first);
    await expect(p2).resolves.toEqual({ kind: "woken" });
    expect(adm.depth).toBe(1);
    adm.release(a);
    await expect(p1b).resolves.toEqual({ kind: "woken" });
  });

  it("does not wait at all when the queue is off", async () => {
    const { adm } = setup(0, 5000);
    await expect(adm.wait(createWaiter(0, () => true), blocks(["a", cooling(300)]), new AbortController().signal)).resolves.toEqual({ kind: "off", retryAfterMs: 300 });
    const { adm: adm2 } = setup(10, 0);
    await expect(adm2.wait(createWaiter(0, () => true), blocks(["a", saturated]), new AbortController().signal)).resolves.toEqual({ kind: "off", retryAfterMs: undefined });
  });
});

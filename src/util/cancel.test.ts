import { describe, expect, it, vi } from "vitest";
import { CallAbort } from "./cancel.js";
import { createFakeClock, delay } from "./clock.js";

describe("CallAbort", () => {
  it("runs each listener once, in the order added, with the first reason kept", () => {
    const c = new CallAbort();
    const seen: string[] = [];
    c.addEventListener("abort", () => seen.push(`a:${String(c.reason)}`));
    c.addEventListener("abort", () => seen.push("b"));
    expect(c.aborted).toBe(false);
    c.abort("first");
    c.abort("second");
    expect(seen).toEqual(["a:first", "b"]);
    expect(c.aborted).toBe(true);
    expect(c.reason).toBe("first");
  });

  it("does not run a removed listener, nor one added after the abort", () => {
    const c = new CallAbort();
    let removed = 0;
    let late = 0;
    const l = () => removed++;
    c.addEventListener("abort", l);
    c.removeEventListener("abort", l);
    c.removeEventListener("abort", () => undefined);
    c.abort(new Error("x"));
    c.addEventListener("abort", () => late++);
    expect([removed, late]).toEqual([0, 0]);
  });

  it("runs the other listeners when one throws, and rethrows the error on the next tick as EventTarget does", () => {
    const c = new CallAbort();
    let after = 0;
    c.addEventListener("abort", () => {
      throw new Error("listener bug");
    });
    c.addEventListener("abort", () => after++);
    const ticks: (() => void)[] = [];
    const spy = vi.spyOn(process, "nextTick").mockImplementation(((fn: () => void) => void ticks.push(fn)) as typeof process.nextTick);
    try {
      c.abort("r");
    } finally {
      spy.mockRestore();
    }
    expect(after).toBe(1);
    expect(ticks).toHaveLength(1);
    expect(() => ticks[0]!()).toThrow("listener bug");
  });

  it("removes one registration of a listener added twice", () => {
    const c = new CallAbort();
    let n = 0;
    const l = () => n++;
    c.addEventListener("abort", l);
    c.addEventListener("abort", l);
    c.removeEventListener("abort", l);
    c.abort("r");
    expect(n).toBe(1);
  });

  it("cancels what waits on it as an AbortSignal would (delay)", async () => {
    const clock = createFakeClock();
    const c = new CallAbort();
    const p = delay(1000, c, clock);
    c.abort(new Error("canceled"));
    await expect(p).rejects.toThrow("canceled");
    expect(clock.pending()).toBe(0);
    await expect(delay(10, c, clock)).rejects.toThrow("canceled");
  });
});

describe("CallAbort with a parent", () => {
  it("aborts with its parent's reason, or on its own without touching the parent", () => {
    const parent = new CallAbort();
    const a = new CallAbort(parent);
    const b = new CallAbort(parent);
    b.abort("lost");
    expect([parent.aborted, a.aborted, b.reason]).toEqual([false, false, "lost"]);
    parent.abort("canceled");
    expect([a.aborted, a.reason, b.reason]).toEqual([true, "canceled", "lost"]);
  });

  it("starts aborted under an aborted parent, real AbortSignals included", () => {
    const ac = new AbortController();
    ac.abort("gone");
    expect(new CallAbort(ac.signal).reason).toBe("gone");
  });
});

import { describe, expect, it } from "vitest";
import { WaitQueue, type QueueEntry } from "./queue.js";

function entry(name: string, priority: number, seq: number, wants: string[] = ["a"], log: string[] = []): QueueEntry<string> & { name: string } {
  return {
    name,
    priority,
    seq,
    index: -1,
    token: 0,
    wants: (r) => wants.includes(r),
    wake: () => log.push(name),
  };
}

describe("WaitQueue", () => {
  it("wakes by priority, then age", () => {
    const q = new WaitQueue<string>();
    const log: string[] = [];
    for (const [name, prio, seq] of [["low-old", 0, 1], ["high-new", 5, 4], ["low-new", 0, 3], ["high-old", 5, 2], ["mid", 2, 5]] as const) {
      q.push(entry(name, prio, seq, ["a"], log));
    }
    while (q.wake("a"));
    expect(log).toEqual(["high-old", "high-new", "mid", "low-old", "low-new"]);
    expect(q.size).toBe(0);
  });

  it("wakes the best waiter that can use what freed up and keeps the others in order", () => {
    const q = new WaitQueue<string>();
    const log: string[] = [];
    q.push(entry("wants-b", 9, 1, ["b"], log));
    q.push(entry("wants-a", 1, 2, ["a"], log));
    q.push(entry("wants-ab", 1, 3, ["a", "b"], log));
    expect(q.wake("a")).toBe(true);
    expect(log).toEqual(["wants-a"]);
    expect(q.wake("c")).toBe(false);
    expect(q.size).toBe(2);
    q.wake("b");
    q.wake("b");
    expect(log).toEqual(["wants-a", "wants-b", "wants-ab"]);
  });

  it("removes from anywhere (timeouts, cancels) and keeps heap order", () => {
    const q = new WaitQueue<string>();
    const log: string[] = [];
    const es = Array.from({ length: 50 }, (_, i) => entry(`e${i}`, i % 7, i, ["a"], log));
    for (const e of es) q.push(e);
    for (let i = 0; i < 50; i += 3) expect(q.remove(es[i]!)).toBe(true);
    expect(q.remove(es[0]!)).toBe(false);
    while (q.wake("a"));
    const expected = es
      .filter((_, i) => i % 3 !== 0)
      .sort((x, y) => y.priority - x.priority || x.seq - y.seq)
      .map((e) => e.name);
    expect(log).toEqual(expected);
  });

  it("does not wake anyone twice in one cascade", () => {
    const q = new WaitQueue<string>();
    const e = entry("x", 0, 1);
    q.push(e);
    let token = 0;
    e.wake = (t) => {
      token = t;
    };
    expect(q.wake("a")).toBe(true);
    q.push(e); // it could not proceed and re-queued
    expect(q.wake("a", token)).toBe(false); // passing the wake-up on does not come back to it
    expect(q.size).toBe(1);
  });
});

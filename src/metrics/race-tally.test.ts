import { describe, expect, it } from "vitest";
import type { RaceCount } from "../cost/ledger.js";
import type { RequestRecord } from "../core/outcome.js";
import { createFakeClock } from "../util/clock.js";
import { createRaceTally, type RaceTallyStore } from "./race-tally.js";

const record = {} as RequestRecord;

function memoryStore(initial: Record<string, RaceCount> = {}) {
  const rows = new Map(Object.entries(initial).map(([k, v]) => [k, { ...v }]));
  let failing = false;
  const writes: number[] = [];
  const store: RaceTallyStore = {
    raceCounts: () => new Map([...rows].map(([k, v]) => [k, { ...v }])),
    addRaceCounts(deltas) {
      if (failing) throw new Error("disk full");
      writes.push(deltas.size);
      for (const [k, d] of deltas) {
        const r = rows.get(k) ?? { entries: 0, wins: 0 };
        r.entries += d.entries;
        r.wins += d.wins;
        rows.set(k, r);
      }
    },
  };
  return { store, rows, writes, fail: (f: boolean) => (failing = f) };
}

describe("race tally", () => {
  it("counts entries and wins, starting from the store, and writes them in one batch per interval", () => {
    const clock = createFakeClock();
    const m = memoryStore({ a: { entries: 5, wins: 3 } });
    const t = createRaceTally({ store: m.store, clock, flushIntervalMs: 1000 });
    t.observer.raceDecided!(record, ["a", "b"], "b");
    t.observer.raceDecided!(record, ["a", "b", "c"], "a");
    expect(t.counts("a")).toEqual({ entries: 7, wins: 4 });
    expect(t.counts("b")).toEqual({ entries: 2, wins: 1 });
    expect(t.counts("never")).toEqual({ entries: 0, wins: 0 });
    expect(m.writes).toEqual([]);
    clock.advance(1000);
    expect(m.writes).toEqual([3]);
    expect(m.rows.get("a")).toEqual({ entries: 7, wins: 4 });
    expect(m.rows.get("c")).toEqual({ entries: 1, wins: 0 });
  });

  it("keeps counts whose write failed and writes them with the next batch", () => {
    const clock = createFakeClock();
    const m = memoryStore();
    const errors: string[] = [];
    const t = createRaceTally({ store: m.store, clock, flushIntervalMs: 100, onError: (e) => errors.push(e.message) });
    m.fail(true);
    t.observer.raceDecided!(record, ["a", "b"], "a");
    clock.advance(100);
    expect(errors).toEqual(["disk full"]);
    m.fail(false);
    t.observer.raceDecided!(record, ["a", "b"], "b");
    t.close();
    expect(m.rows.get("a")).toEqual({ entries: 2, wins: 1 });
    expect(m.rows.get("b")).toEqual({ entries: 2, wins: 1 });
  });
});

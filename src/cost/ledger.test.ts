import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { createFakeClock } from "../util/clock.js";
import { openLedger, utcDay, type LedgerEntry } from "./ledger.js";
import { nextUtcDay, nextUtcMonth, SpendBook, utcMonthStart } from "./spend.js";

const NOV_22 = Date.UTC(2026, 10, 22, 12, 0, 0);

function entry(over: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    ts: NOV_22,
    requestId: "r1",
    tenant: "acme",
    provider: "a",
    model: "gpt-4o-mini",
    upstreamModel: "gpt-4o-mini",
    promptTokens: 100,
    completionTokens: 20,
    cachedTokens: 0,
    estimated: false,
    costUsd: 0.001,
    ...over,
  };
}

describe("ledger", () => {
  it("batches writes off the call path and keeps totals across reopen", async () => {
    const dir = mkdtempSync(join(tmpdir(), "llmpool-ledger-"));
    const path = join(dir, "nested", "ledger.db");
    const clock = createFakeClock(0, NOV_22);
    const l = openLedger({ path, clock, flushIntervalMs: 1000 });
    l.append(entry());
    l.append(entry({ requestId: "r2", provider: "b", tenant: "", costUsd: 0.002 }));
    l.append(entry({ requestId: "r3", ts: NOV_22 - 86_400_000, costUsd: 0.004, cachedTokens: 50 }));
    expect(l.pending).toBe(3);
    expect(await l.recent(10)).toEqual([]); // nothing written yet
    clock.advance(999);
    expect(l.pending).toBe(3);
    clock.advance(1); // the batch goes to the writer thread
    await l.drain();
    expect(l.pending).toBe(0);
    expect((await l.recent(10)).map((e) => e.requestId)).toEqual(["r3", "r2", "r1"]);
    expect((await l.recent(1))[0]).toEqual(entry({ requestId: "r3", ts: NOV_22 - 86_400_000, costUsd: 0.004, cachedTokens: 50 }));
    l.append(entry({ requestId: "r4" }));
    await l.close(); // writes r4 first

    const again = openLedger({ path, clock });
    const t = await again.totals();
    expect(t.byProvider.get("a")).toEqual({ requests: 3, promptTokens: 300, completionTokens: 60, costUsd: expect.closeTo(0.006, 12) });
    expect(t.byProvider.get("b")?.costUsd).toBeCloseTo(0.002, 12);
    expect(t.byTenant.get("")?.requests).toBe(1);
    expect(t.byModel.get("gpt-4o-mini")?.requests).toBe(4);
    const today = await again.spendSince(utcDay(NOV_22));
    expect(today.tenants.get("acme")).toBeCloseTo(0.002, 12);
    expect(today.providers.get("b")).toBeCloseTo(0.002, 12);
    expect((await again.spendSince(utcMonthStart(NOV_22))).tenants.get("acme")).toBeCloseTo(0.006, 12);
    await again.close();

    // The daily table is what an operator queries.
    const db = new Database(path, { readonly: true });
    expect(db.prepare("SELECT day, SUM(cost_usd) AS c FROM daily GROUP BY day ORDER BY day").all()).toEqual([
      { day: "2026-11-21", c: expect.closeTo(0.004, 12) },
      { day: "2026-11-22", c: expect.closeTo(0.004, 12) },
    ]);
    db.close();
  });

  it("writes at once when a batch fills", async () => {
    const clock = createFakeClock(0, NOV_22);
    const l = openLedger({ path: ":memory:", clock, maxBatch: 2, flushIntervalMs: 60_000 });
    l.append(entry());
    l.append(entry({ requestId: "r2" }));
    clock.advance(0);
    expect(l.pending).toBe(0);
    expect(await l.recent(5)).toHaveLength(2);
    await l.close();
  });

  it("can write in-process instead of on a thread", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "llmpool-ledger-")), "l.db");
    const clock = createFakeClock(0, NOV_22);
    const l = openLedger({ path, clock, writerThread: false });
    l.append(entry());
    l.flush();
    expect(l.pending).toBe(0);
    expect((await l.recent(1))[0]!.requestId).toBe("r1");
    await l.close();
  });

  it("prunes per-call rows past the retention but keeps daily totals", async () => {
    const clock = createFakeClock(0, NOV_22);
    const l = openLedger({ path: ":memory:", clock, retentionDays: 30 });
    l.append(entry({ requestId: "old", ts: NOV_22 - 40 * 86_400_000 }));
    l.append(entry({ requestId: "new" }));
    l.flush();
    expect(await l.prune()).toBe(1);
    expect((await l.recent(5)).map((e) => e.requestId)).toEqual(["new"]);
    expect((await l.totals()).byProvider.get("a")?.requests).toBe(2);
    await l.close();
  });

  it("refuses a ledger of another schema version", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "llmpool-ledger-")), "l.db");
    const clock = createFakeClock(0, NOV_22);
    await openLedger({ path, clock }).close();
    const db = new Database(path);
    db.prepare("UPDATE meta SET value = '99' WHERE key = 'schema_version'").run();
    db.close();
    expect(() => openLedger({ path, clock })).toThrow(/schema version 99/);
  });
});

describe("spend book", () => {
  it("rolls days and months over in UTC", () => {
    expect(new Date(nextUtcDay(NOV_22)).toISOString()).toBe("2026-11-23T00:00:00.000Z");
    expect(new Date(nextUtcMonth(NOV_22)).toISOString()).toBe("2026-12-01T00:00:00.000Z");
    expect(new Date(nextUtcMonth(Date.UTC(2026, 11, 31, 23))).toISOString()).toBe("2027-01-01T00:00:00.000Z");
    const clock = createFakeClock(0, NOV_22);
    const s = new SpendBook(clock);
    s.seed({ tenants: new Map([["acme", 1]]), providers: new Map() }, { tenants: new Map([["acme", 5]]), providers: new Map([["a", 2]]) });
    s.add("tenant", "acme", 0.5);
    expect(s.spent("tenant", "acme", "daily")).toBe(1.5);
    expect(s.spent("tenant", "acme", "monthly")).toBe(5.5);
    s.reserve("tenant", "acme", 0.25);
    expect(s.reserved("tenant", "acme")).toBe(0.25);
    s.release("tenant", "acme", 0.25);
    expect(s.reserved("tenant", "acme")).toBe(0);
    clock.advance(12 * 3_600_000); // midnight, Nov 23
    s.roll();
    expect(s.spent("tenant", "acme", "daily")).toBe(0);
    expect(s.spent("tenant", "acme", "monthly")).toBe(5.5);
    clock.advance(8 * 86_400_000); // Dec 1
    s.roll();
    expect(s.spent("tenant", "acme", "monthly")).toBe(0);
    expect(s.spent("provider", "a", "monthly")).toBe(0);
  });
});

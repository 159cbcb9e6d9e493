import { describe, expect, it } from "vitest";
import { createFakeClock } from "../util/clock.js";
import { createMemoryCacheStore } from "./memory-store.js";

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

describe("memory cache store", () => {
  it("expires entries after their TTL", async () => {
    const clock = createFakeClock();
    const s = createMemoryCacheStore({ clock });
    await s.set("a", bytes(3), 1000);
    clock.advance(999);
    expect(await s.get("a")).toEqual(bytes(3));
    clock.advance(1);
    expect(await s.get("a")).toBeUndefined();
    expect(s.size).toBe(0);
  });

  it("evicts the least recently used past max_entries", async () => {
    const clock = createFakeClock();
    const s = createMemoryCacheStore({ clock, maxEntries: 2 });
    await s.set("a", bytes(1), 60_000);
    await s.set("b", bytes(1), 60_000);
    await s.get("a"); // a is now the most recent
    await s.set("c", bytes(1), 60_000);
    expect(await s.get("b")).toBeUndefined();
    expect(await s.get("a")).toBeDefined();
    expect(await s.get("c")).toBeDefined();
  });

  it("keeps total bytes under max_bytes, replacing an entry frees its bytes", async () => {
    const clock = createFakeClock();
    const s = createMemoryCacheStore({ clock, maxBytes: 10 });
    await s.set("a", bytes(4), 60_000);
    await s.set("a", bytes(4, 2), 60_000);
    await s.set("b", bytes(4), 60_000);
    expect(s.size).toBe(2);
    await s.set("c", bytes(4), 60_000); // 12 bytes > 10: a (oldest) goes
    expect(await s.get("a")).toBeUndefined();
    expect(s.size).toBe(2);
    await s.set("huge", bytes(11), 60_000); // larger than the whole store: not kept
    expect(await s.get("huge")).toBeUndefined();
    expect(s.size).toBe(2);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type TestRedis } from "../../test/helpers/redis.js";
import { createMemoryCounters, type SharedCounters, type TakeVerdict } from "./counters.js";
import { createRedisState } from "./redis.js";
import type { StateBackend } from "./state.js";

let redis: TestRedis;
let backend: StateBackend;
beforeAll(async () => {
  redis = await startRedis();
  backend = createRedisState({ url: redis.url, keyPrefix: "counters" });
  while (!backend.up) await new Promise((r) => setTimeout(r, 10));
});
afterAll(async () => {
  await backend.close();
  await redis.close();
});

const T0 = 1_750_000_000_250;
const perMinute = { windowMs: 60_000, buckets: 60, limit: 100 };

/** One script of takes and adjustments, with what each take answered. */
async function drive(c: SharedCounters, key: string): Promise<TakeVerdict[]> {
  const out: TakeVerdict[] = [];
  out.push(await c.take(key, perMinute, 40, T0));
  out.push(await c.take(key, perMinute, 40, T0 + 5_000));
  out.push(await c.take(key, perMinute, 40, T0 + 10_000)); // refused: 120 > 100
  await c.adjust(key, perMinute, T0, -30, T0 + 11_000); // the first used 10, not 40
  out.push(await c.take(key, perMinute, 40, T0 + 12_000)); // now fits: 10 + 40 + 40
  out.push(await c.take(key, perMinute, 30, T0 + 13_000)); // refused until the first two buckets leave
  out.push(await c.take(key, perMinute, 500, T0 + 14_000)); // never fits
  out.push(await c.take(key, perMinute, 30, T0 + 65_000)); // they left: 40 + 30
  return out;
}

describe("shared window counters", () => {
  it("memory and Redis answer a sequence of takes and adjustments alike", async () => {
    const mem = await drive(createMemoryCounters(), "k");
    const red = await drive(backend.counters, "k");
    expect(red).toEqual(mem);
    expect(mem.map((v) => v.ok)).toEqual([true, true, false, true, false, false, true]);
    // Buckets are whole seconds: the one holding T0 (which is .250 into its second) and the one
    // of T0 + 5 s must both leave, the second at T0 + 4.75 s + 60 s.
    expect(mem[4]!.retryAfterMs).toBe(64_750 - 13_000);
    expect(mem[5]!.retryAfterMs).toBe(Infinity);
  });

  it("two replicas on one Redis share a key's window", async () => {
    const other = createRedisState({ url: redis.url, keyPrefix: "counters" });
    while (!other.up) await new Promise((r) => setTimeout(r, 10));
    expect((await backend.counters.take("shared", perMinute, 60, T0)).ok).toBe(true);
    const v = await other.counters.take("shared", perMinute, 60, T0 + 1);
    expect(v).toEqual({ ok: false, used: 60, retryAfterMs: 59_750 - 1 });
    await other.close();
  });
});

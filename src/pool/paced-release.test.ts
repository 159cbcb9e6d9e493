/**
 * No thundering herd (issue 12): the waiters a 429 cool-down held back are released paced, at
 * most at the provider's known rate (rpm, or the upstream's x-ratelimit-limit-requests), with
 * jitter; every caller is answered or refused with a retry delay. In-memory providers, fake clock.
 */
import { create } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/llmpool/v1/llmpool_pb.js";
import { stubProvider } from "../../test/helpers/endpoints.js";
import { validateConfig } from "../config/load.js";
import { PoolError, ProviderError } from "../core/errors.js";
import type { ChatResult, RateLimitInfo } from "../core/provider.js";
import { createFakeClock } from "../util/clock.js";
import { Pool } from "./pool.js";

const req = create(ChatRequestSchema, { model: "m", messages: [{ role: "user", content: "hi" }] });
const OK: ChatResult = { id: "1", model: "m", content: "ok", toolCalls: [], finishReason: "stop", rawFinishReason: "stop" };

const pools: Pool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
});

/** One provider `a` that answers 429 (cool-down `cooldownMs`) to its first call and ok after; `calls` holds when each call reached it. */
function herd(provider: Record<string, unknown>, queue: Record<string, unknown>, random: () => number, rateLimit?: RateLimitInfo) {
  const clock = createFakeClock();
  const calls: number[] = [];
  const loaded = validateConfig(
    {
      pool: { strategy: "round_robin", retry_backoff_ms: { initial: 0, max: 0 }, warmup: { enabled: false }, max_retries: 0, queue },
      providers: [{ name: "a", type: "mock", models: ["m"], health_check: { enabled: false }, ...provider }],
    },
    "test",
    {},
  );
  const pool = new Pool(loaded, {
    clock,
    random,
    createProvider: (cfg) =>
      stubProvider(cfg.name, {
        chat: async () => {
          calls.push(clock.now());
          if (calls.length === 1) throw new ProviderError({ provider: "a", kind: "rate_limited", status: 429, message: "slow down", retryAfterMs: 1000, rateLimit });
          return OK;
        },
      }),
  });
  pools.push(pool);
  return { pool, clock, calls };
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

/** Start `n` calls, then run the fake clock for `ms` in 1 ms steps; every call's outcome. */
async function run(h: ReturnType<typeof herd>, n: number, ms: number) {
  const first = await h.pool.chat(req, { signal: new AbortController().signal, requestId: "first" }).catch((e: unknown) => e);
  expect(first).toBeInstanceOf(PoolError); // the 429 starts the cool-down
  const outcomes = Array.from({ length: n }, (_, i) =>
    h.pool.chat(req, { signal: new AbortController().signal, requestId: `r${i}` }).then(
      () => "ok" as const,
      (e: unknown) => e as PoolError,
    ),
  );
  await flush();
  expect(h.pool.queueDepth).toBe(n); // all wait out the cool-down
  for (let t = 0; t < ms; t++) {
    h.clock.advance(1);
    await flush();
  }
  return Promise.all(outcomes);
}

/** The most calls that reached the upstream within any `window` ms. */
function peak(calls: number[], window: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < calls.length; i++) {
    while (calls[i]! - calls[j]! >= window) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe("paced release after a 429 cool-down", () => {
  it("60 waiters go at most one per rpm interval (rpm 600: 100 ms), jittered, all answered", async () => {
    let seed = 1;
    const h = herd({ rpm: 600 }, {}, () => ((seed = (seed * 16807) % 2147483647) / 2147483647));
    const results = await run(h, 60, 12_000);
    expect(results.filter((r) => r !== "ok")).toEqual([]);
    const after = h.calls.slice(1);
    expect(after).toHaveLength(60);
    expect(after[0]).toBeGreaterThanOrEqual(1000); // nobody before the cool-down lifts
    const gaps = after.slice(1).map((t, i) => t - after[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(100);
    expect(new Set(gaps).size).toBeGreaterThan(5); // jittered, not a fixed beat
    expect(peak(after, 1)).toBe(1);
  });

  it("uses the upstream's x-ratelimit-limit-requests when no rpm is set", async () => {
    const h = herd({}, {}, () => 0, { limitRequests: 120, remainingRequests: 0, resetRequestsMs: 1000 });
    const results = await run(h, 20, 12_000);
    expect(results.every((r) => r === "ok")).toBe(true);
    const after = h.calls.slice(1);
    const gaps = after.slice(1).map((t, i) => t - after[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(500); // 120 per minute
  });

  it("with no known rate, still no burst; callers the queue cannot keep are refused with a retry delay", async () => {
    const h = herd({}, { timeout_ms: 2000 }, () => 0.5);
    const results = await run(h, 60, 3000);
    const after = h.calls.slice(1);
    expect(peak(after, 1)).toBe(1);
    expect(peak(after, 50)).toBeLessThanOrEqual(1); // a twentieth of the 1 s cool-down, +jitter
    const refused = results.filter((r): r is PoolError => r !== "ok");
    expect(results.length - refused.length).toBe(after.length);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r.code).toBe("resource_exhausted");
      expect(r.extra.retryAfterMs).toBeGreaterThan(0);
    }
  });
});

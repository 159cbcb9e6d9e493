import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type TestRedis } from "../../test/helpers/redis.js";
import { WindowCounter } from "../limits/window-counter.js";
import { createRedisState } from "./redis.js";
import type { ReserveInput, SettleInput, StateBackend } from "./state.js";

let redis: TestRedis;
let seq = 0;
const T0 = Date.UTC(2026, 5, 10, 12, 0, 0, 500);

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.close();
});

async function backend(): Promise<StateBackend> {
  const b = createRedisState({ url: redis.url, keyPrefix: `t${++seq}`, reconnectMs: { initial: 20, max: 200 }, probeIntervalMs: 50 });
  const deadline = Date.now() + 5000;
  while (!b.up && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  expect(b.up).toBe(true);
  return b;
}

const input = (over: Partial<ReserveInput> & { now: number }): ReserveInput => ({
  provider: "p1",
  limits: { rpm: 0, rpd: 0, tpm: 0, maxConcurrency: 0, leaseMs: 60_000 },
  promptTokens: 10,
  reserveTokens: 0,
  estimateUsd: 0,
  ...over,
});

const settle = (over: Partial<SettleInput> & { now: number }): SettleInput => ({
  provider: "p1",
  model: "m",
  tenant: "",
  lease: "",
  startedAt: over.now,
  reservedTokens: 0,
  estimateUsd: 0,
  tenantBudget: false,
  providerBudget: false,
  costUsd: 0,
  cooldownMs: 0,
  cooldownWhy: "",
  ...over,
});

describe("redis state backend", () => {
  it("rpm: the same window as the in-process counter, bucket for bucket", async () => {
    const b = await backend();
    const local = new WindowCounter(60_000, 60);
    const limits = { rpm: 3, rpd: 0, tpm: 0, maxConcurrency: 0, leaseMs: 60_000 };
    const times = [T0, T0 + 10_000, T0 + 20_300];
    for (const t of times) {
      expect((await b.reserve(input({ limits, now: t }))).ok).toBe(true);
      local.add(t, 1);
    }
    const at = T0 + 30_000;
    const v = await b.reserve(input({ limits, now: at }));
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.block.reason).toBe("rpm 3 reached (cluster-wide)");
    expect(v.block.retryAfterMs).toBe(local.waitFor(at, 1, 3));
    // The oldest call leaves the window exactly when the local counter says it does.
    const free = at + local.waitFor(at, 1, 3);
    expect((await b.reserve(input({ limits, now: free - 1 }))).ok).toBe(false);
    expect((await b.reserve(input({ limits, now: free }))).ok).toBe(true);
    await b.close();
  });

  it("tpm: reserves prompt + max_tokens and refunds the unused part on settle", async () => {
    const b = await backend();
    const limits = { rpm: 0, rpd: 0, tpm: 1000, maxConcurrency: 0, leaseMs: 60_000 };
    const first = await b.reserve(input({ limits, reserveTokens: 600, now: T0 }));
    expect(first.ok).toBe(true);
    const second = await b.reserve(input({ limits, reserveTokens: 600, now: T0 + 100 }));
    expect(second.ok).toBe(false);
    if (!second.ok) expect(second.block.reason).toBe("tpm 1000 reached (cluster-wide)");
    await b.settle(settle({ lease: first.ok ? first.lease : "", startedAt: T0, reservedTokens: 600, usedTokens: 100, now: T0 + 200 }));
    expect((await b.reserve(input({ limits, reserveTokens: 600, now: T0 + 300 }))).ok).toBe(true);
    expect((await b.windows("p1", T0 + 300))?.tpmUsed).toBe(700);
    // A prompt larger than the whole limit can never fit.
    const huge = await b.reserve(input({ limits, promptTokens: 2000, reserveTokens: 1000, now: T0 + 400 }));
    expect(huge.ok === false && huge.block.kind).toBe("unavailable");
    await b.close();
  });

  it("max_concurrency: a cluster-wide cap whose slots come back when released or when a lease expires", async () => {
    const b = await backend();
    const limits = { rpm: 0, rpd: 0, tpm: 0, maxConcurrency: 2, leaseMs: 1000 };
    const a = await b.reserve(input({ limits, now: T0 }));
    const c = await b.reserve(input({ limits, now: T0 }));
    expect(a.ok && c.ok).toBe(true);
    const refused = await b.reserve(input({ limits, now: T0 + 10 }));
    expect(refused.ok === false && refused.block.reason).toBe("max_concurrency 2 reached (cluster-wide)");
    await b.settle(settle({ lease: a.ok ? a.lease : "", now: T0 + 20 }));
    expect((await b.reserve(input({ limits, now: T0 + 30 }))).ok).toBe(true);
    expect((await b.reserve(input({ limits, now: T0 + 40 }))).ok).toBe(false);
    // The replica holding the other two slots died: after the lease they are free again.
    expect((await b.reserve(input({ limits, now: T0 + 1031 }))).ok).toBe(true);
    await b.close();
  });

  it("a cool-down and the upstream's remaining/reset seen by one replica hold for all", async () => {
    const one = await backend();
    const prefix = `t${seq}`;
    const two = createRedisState({ url: redis.url, keyPrefix: prefix });
    while (!two.up) await new Promise((r) => setTimeout(r, 10));
    await one.settle(settle({ cooldownMs: 5000, cooldownWhy: "upstream 429", now: T0 }));
    const v = await two.reserve(input({ now: T0 }));
    expect(v.ok).toBe(false);
    if (!v.ok) {
      expect(v.block.reason).toMatch(/^cooling down for \d+ ms \(upstream 429, shared\)$/);
      expect(v.block.retryAfterMs).toBeGreaterThan(4000);
    }
    const b = await backend();
    await b.settle(settle({ provider: "p2", remainingRequests: 1, resetRequestsMs: 10_000, now: T0 }));
    expect((await b.reserve(input({ provider: "p2", now: T0 + 1 }))).ok).toBe(true);
    const spent = await b.reserve(input({ provider: "p2", now: T0 + 2 }));
    expect(spent.ok === false && spent.block.reason).toBe("upstream request budget spent; resets in 9998 ms (shared)");
    expect((await b.reserve(input({ provider: "p2", now: T0 + 10_001 }))).ok).toBe(true);
    await Promise.all([one.close(), two.close(), b.close()]);
  });

  it("budgets: estimates are held at admission and replaced by the real cost", async () => {
    const b = await backend();
    const tenant = { name: "acme", limits: { daily_usd: 1 } };
    const first = await b.reserve(input({ tenant, estimateUsd: 0.6, now: T0 }));
    expect(first.ok).toBe(true);
    const second = await b.reserve(input({ tenant, estimateUsd: 0.6, now: T0 }));
    expect(second.ok).toBe(false);
    if (!second.ok) {
      expect(second.budget).toBe(true);
      expect(second.block.reason).toBe('tenant "acme" daily budget $1.00 would be exceeded ($0.6000 spent or in flight, this request ~$0.6000)');
      expect(second.block.retryAfterMs).toBe(Date.UTC(2026, 5, 11) - T0);
    }
    await b.settle(settle({ lease: first.ok ? first.lease : "", tenant: "acme", tenantBudget: true, estimateUsd: 0.6, usage: { promptTokens: 10, completionTokens: 5 }, costUsd: 0.5, now: T0 + 1 }));
    expect((await b.reserve(input({ tenant, estimateUsd: 0.6, now: T0 + 2 }))).ok).toBe(false);
    expect((await b.reserve(input({ tenant, estimateUsd: 0.4, now: T0 + 2 }))).ok).toBe(true);
    const snap = await b.snapshot(T0 + 3);
    expect(snap?.daily.tenants.get("acme")).toBeCloseTo(0.5);
    expect(snap?.monthly.providers.get("p1")).toBeCloseTo(0.5);
    expect(snap?.byTenant.get("acme")).toEqual({ requests: 1, promptTokens: 10, completionTokens: 5, costUsd: 0.5 });
    expect(snap?.byModel.get("m")?.requests).toBe(1);
    await b.close();
  });

  it("scripts are loaded again after Redis forgets them (NOSCRIPT falls back to EVAL)", async () => {
    const b = await backend();
    const admin = new Redis(redis.url);
    await admin.script("FLUSH");
    await admin.quit();
    expect((await b.reserve(input({ limits: { rpm: 5, rpd: 0, tpm: 0, maxConcurrency: 0, leaseMs: 1000 }, now: T0 }))).ok).toBe(true);
    await b.close();
  });

  it("an outage: commands fail fast, `up` follows, and the backend comes back by itself", async () => {
    const b = await backend();
    const changes: boolean[] = [];
    b.onAvailability((up) => changes.push(up));
    await redis.kill();
    const t = Date.now();
    await expect(b.reserve(input({ now: T0 }))).rejects.toThrow();
    expect(Date.now() - t).toBeLessThan(1000);
    expect(b.up).toBe(false);
    await redis.start();
    const deadline = Date.now() + 10_000;
    while (!b.up && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(b.up).toBe(true);
    expect(changes).toEqual([false, true]);
    expect((await b.reserve(input({ now: T0 }))).ok).toBe(true);
    await b.close();
  });
});

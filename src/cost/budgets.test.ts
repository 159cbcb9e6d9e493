import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../../gen/llmpool/v1/llmpool_pb.js";
import { validateConfig } from "../config/load.js";
import { PoolError } from "../core/errors.js";
import { Pool } from "../pool/pool.js";
import { createFakeClock } from "../util/clock.js";
import { openLedger } from "./ledger.js";
import { createTablePricer } from "./pricer.js";
import { createCostTracker } from "./tracker.js";

const NOV_22 = Date.UTC(2026, 10, 22, 12, 0, 0);
// $0.01 per token both ways: "hi" is 5 prompt tokens (4 per message + 1), "ok" 1 completion
// token, so a call costs $0.06; the pre-call estimate is (8 prompt + max_tokens 2) = $0.10.
const PRICE = { input_per_1m: 10_000, output_per_1m: 10_000 };
const mock = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  type: "mock",
  models: ["m"],
  pricing: PRICE,
  mock: { latency_ms: 0, reply: "ok" },
  ...extra,
});

async function setup(raw: Record<string, unknown>) {
  const clock = createFakeClock(0, NOV_22);
  const loaded = validateConfig(raw, "test", {});
  let pool: Pool | undefined;
  const pricer = createTablePricer({ prices: () => pool!.config.cost.prices });
  const ledger = openLedger({ path: ":memory:", clock });
  const tracker = await createCostTracker({ config: () => pool!.config, pricer, clock, ledger });
  pool = new Pool(loaded, {
    clock,
    pricer,
    observers: [tracker.observer],
    gates: [tracker.budgets.endpointGate],
    requestGates: [tracker.budgets.requestGate],
  });
  let n = 0;
  const chat = (tenant = "acme", maxTokens = 2) =>
    pool!.chat(create(ChatRequestSchema, { messages: [{ role: "user", content: "hi" }], maxTokens, metadata: tenant ? { tenant } : {} }), {
      signal: new AbortController().signal,
      requestId: `r${++n}`,
    });
  return { pool, tracker, clock, chat, ledger };
}

async function failure(p: Promise<unknown>): Promise<PoolError> {
  try {
    await p;
  } catch (err) {
    return err as PoolError;
  }
  throw new Error("expected a failure");
}

describe("tenant budgets", () => {
  it("refuses a call that would exceed the budget, then one past it, until the period resets", async () => {
    const { chat, tracker, clock } = await setup({
      cost: { budgets: { tenants: { acme: { daily_usd: 0.25, monthly_usd: 10 } } } },
      providers: [mock("p1"), mock("p2")],
    });
    for (let i = 0; i < 3; i++) expect((await chat()).costUsd).toBeCloseTo(0.06, 12);
    // 0.18 spent + ~0.10 estimate > 0.25: every provider is blocked by the tenant's budget.
    const would = await failure(chat());
    expect(would.code).toBe("resource_exhausted");
    expect(would.message).toMatch(/p1: tenant "acme" daily budget \$0\.2500 would be exceeded \(\$0\.1800 spent, this request ~\$0\.1000\)/);
    expect(would.extra.retryAfterMs).toBe(12 * 3_600_000);
    // Other tenants (and requests without one) are not affected.
    expect((await chat("globex")).provider).toMatch(/^p[12]$/);
    expect((await chat("")).provider).toMatch(/^p[12]$/);
    // Spent in full: rejected at admission, naming the budget.
    tracker.spend.add("tenant", "acme", 0.1);
    const spent = await failure(chat());
    expect(spent.code).toBe("resource_exhausted");
    expect(spent.message).toBe('budget exhausted: tenant "acme" daily budget $0.2500 is spent ($0.2800); resets in 720 min');
    expect(tracker.budgets.statuses([])).toEqual([
      { scope: "tenant", key: "acme", period: "daily", limitUsd: 0.25, spentUsd: expect.closeTo(0.28, 12), exhausted: true },
      { scope: "tenant", key: "acme", period: "monthly", limitUsd: 10, spentUsd: expect.closeTo(0.28, 12), exhausted: false },
    ]);
    clock.advance(12 * 3_600_000); // next UTC day
    expect((await chat()).costUsd).toBeCloseTo(0.06, 12);
  });

  it("lets a cheaper provider serve when an expensive one would break the budget", async () => {
    const { chat } = await setup({
      cost: { budgets: { tenants: { acme: { daily_usd: 0.5 } } } },
      providers: [mock("pricey", { pricing: { input_per_1m: 100_000, output_per_1m: 100_000 } }), mock("cheap")],
    });
    // pricey's estimate is $1.00 > $0.50: only cheap may serve acme.
    for (let i = 0; i < 4; i++) expect((await chat()).provider).toBe("cheap");
  });

  it("counts calls in flight against the budget", async () => {
    const { chat } = await setup({
      cost: { budgets: { tenants: { acme: { daily_usd: 0.25 } } } },
      providers: [mock("p1", { mock: { latency_ms: 250, reply: "ok" } })],
    });
    // Two in flight reserve ~$0.20; a third would bring it to ~$0.30.
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 3; i++) {
      calls.push(chat().then(() => "ok", (e: PoolError) => e));
      await new Promise((r) => setImmediate(r)); // as separate requests arrive
    }
    const [a, b, c] = await Promise.all(calls);
    expect([a, b]).toEqual(["ok", "ok"]);
    expect((c as PoolError).message).toContain("$0.2000 in flight");
  });

  it("applies \"*\" to each tenant not listed, and rejects over-long tenants", async () => {
    const { chat, tracker } = await setup({
      cost: { budgets: { tenants: { "*": { daily_usd: 0.15 }, vip: { daily_usd: 100 } } } },
      providers: [mock("p1")],
    });
    await chat("t1");
    expect((await failure(chat("t1"))).message).toContain('tenant "t1" daily budget $0.1500 would be exceeded');
    await chat("t2");
    await chat("vip");
    await chat("vip");
    expect(tracker.budgets.statuses([]).map((s) => `${s.key}:${s.limitUsd}`).sort()).toEqual(["t1:0.15", "t2:0.15", "vip:100"]);
    const long = await failure(chat("x".repeat(129)));
    expect(long.code).toBe("invalid_argument");
    expect(long.message).toBe("metadata.tenant: at most 128 characters (got 129)");
  });
});

describe("provider budgets", () => {
  it("takes a provider out of rotation past its budget and back when the month turns", async () => {
    const { chat, tracker, pool, clock } = await setup({
      pool: { strategy: "round_robin" },
      providers: [mock("capped", { budget: { monthly_usd: 0.15 } }), mock("open")],
    });
    const first = await chat("");
    expect(first.provider).toBe("capped");
    // capped has $0.06 spent; +$0.10 would pass $0.15, so everything goes to open.
    for (let i = 0; i < 3; i++) expect((await chat("")).provider).toBe("open");
    expect(tracker.budgets.providerBlock(pool.endpoint("capped")!)).toBe("");
    tracker.spend.add("provider", "capped", 0.1);
    expect(tracker.budgets.providerBlock(pool.endpoint("capped")!)).toBe(
      "monthly budget $0.1500 spent ($0.1600); back in rotation at 2026-12-01T00:00:00.000Z",
    );
    expect(tracker.budgets.statuses(pool.endpoints)).toEqual([
      { scope: "provider", key: "capped", period: "monthly", limitUsd: 0.15, spentUsd: expect.closeTo(0.16, 12), exhausted: true },
    ]);
    clock.advance(9 * 86_400_000);
    expect(tracker.budgets.providerBlock(pool.endpoint("capped")!)).toBe("");
    const served = new Set<string>();
    for (let i = 0; i < 2; i++) served.add((await chat("")).provider);
    expect(served).toEqual(new Set(["capped", "open"]));
  });

  it("answers RESOURCE_EXHAUSTED naming the budget when every provider is capped", async () => {
    const { chat } = await setup({ providers: [mock("only", { budget: { daily_usd: 0.05 } })] });
    const err = await failure(chat(""));
    expect(err.code).toBe("resource_exhausted");
    expect(err.message).toContain("only: provider only daily budget $0.0500 would be exceeded");
  });
});

describe("cost totals", () => {
  it("sums by provider, model and tenant, seeded from the ledger", async () => {
    const { chat, tracker, ledger } = await setup({ pool: { strategy: "round_robin" }, providers: [mock("p1"), mock("p2")] });
    await chat("acme");
    await chat("acme");
    await chat("");
    expect(tracker.entries("tenant")).toEqual([
      { key: "acme", requests: 2, promptTokens: 10, completionTokens: 2, costUsd: expect.closeTo(0.12, 12) },
      { key: "", requests: 1, promptTokens: 5, completionTokens: 1, costUsd: expect.closeTo(0.06, 12) },
    ]);
    expect(tracker.entries("provider", ["p2"])).toHaveLength(1);
    expect(tracker.entries("model")).toEqual([{ key: "m", requests: 3, promptTokens: 15, completionTokens: 3, costUsd: expect.closeTo(0.18, 12) }]);
    expect(tracker.totalCostUsd()).toBeCloseTo(0.18, 12);
    ledger.flush();
    expect((await ledger.recent(3)).map((e) => [e.requestId, e.tenant, e.model, e.costUsd])).toEqual([
      ["r3", "", "m", expect.closeTo(0.06, 12)],
      ["r2", "acme", "m", expect.closeTo(0.06, 12)],
      ["r1", "acme", "m", expect.closeTo(0.06, 12)],
    ]);
  });
});

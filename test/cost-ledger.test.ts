/**
 * Cost and budgets through the gRPC API, across a restart: the ledger file keeps totals and
 * budget spend, a tenant past its budget gets RESOURCE_EXHAUSTED naming it, and a provider
 * past its budget leaves rotation.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ProviderState } from "../gen/llmpool/v1/llmpool_pb.js";
import { startFakeOpenAI, type FakeUpstream } from "./helpers/fake-openai.js";
import { openaiProvider, startServer, user, type TestServer } from "./helpers/server.js";
import { harness, failure as error } from "./helpers/harness.js";

const { cleanup } = harness();

async function fake(name: string): Promise<FakeUpstream> {
  const f = await startFakeOpenAI(name);
  cleanup.push(() => f.close());
  // 1000 prompt + 100 completion tokens per call.
  f.behave({ usage: { prompt_tokens: 1000, completion_tokens: 100 } });
  return f;
}


const json = (v: unknown) => JSON.parse(JSON.stringify(v, (k, x) => (k === "$typeName" ? undefined : typeof x === "bigint" ? Number(x) : x)));

describe("cost ledger across restarts", () => {
  it("keeps totals, tenant budgets and provider budgets after a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "llmpool-restart-"));
    const up = await fake("up");
    const spare = await fake("spare");
    // $1 per 1M input, $10 per 1M output: a call costs 1000 * 1e-6 + 100 * 1e-5 = $0.002.
    // The estimate before a call with max_tokens 100: ~10 prompt tokens + 100 = ~$0.00101.
    const pricing = { input_per_1m: 1, output_per_1m: 10 };
    const raw = {
      pool: { strategy: "round_robin" },
      cost: { ledger: { path: join(dir, "ledger.db") }, budgets: { tenants: { acme: { daily_usd: 0.0065, monthly_usd: 1 } } } },
      providers: [
        openaiProvider("up", up.url, { pricing, budget: { daily_usd: 0.0045 } }),
        openaiProvider("spare", spare.url, { pricing, priority: 2 }),
      ],
    };
    const start = async () => {
      const s = await startServer(raw);
      cleanup.push(() => s.close());
      return s;
    };

    let s: TestServer = await start();
    const ask = (tenant: string, srv = s) => srv.grpc.chat({ model: "gpt-4o-mini", messages: [user("hi")], maxTokens: 100, metadata: { tenant } });
    const served: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await ask("acme");
      expect(r.costUsd).toBeCloseTo(0.002, 12);
      served.push(r.provider);
    }
    // round robin: up, spare, up; up has spent $0.004 and $0.004 + ~$0.001 > $0.0045.
    expect(served).toEqual(["up", "spare", "up"]);
    expect((await ask("other")).provider).toBe("spare");
    const before = json(await s.grpc.getPoolStats({}));
    expect(before.totals.costUsd).toBeCloseTo(0.008, 12);
    expect(before.costByTenant.map((c: { key: string }) => c.key)).toEqual(["acme", "other"]);
    expect(before.budgets).toEqual([
      { scope: "tenant", key: "acme", period: "daily", limitUsd: 0.0065, spentUsd: expect.closeTo(0.006, 12), exhausted: false },
      { scope: "tenant", key: "acme", period: "monthly", limitUsd: 1, spentUsd: expect.closeTo(0.006, 12), exhausted: false },
      { scope: "provider", key: "up", period: "daily", limitUsd: 0.0045, spentUsd: expect.closeTo(0.004, 12), exhausted: false },
    ]);
    await s.close();

    s = await start();
    const after = json(await s.grpc.getPoolStats({}));
    expect(after.costByProvider).toEqual(before.costByProvider);
    expect(after.costByModel).toEqual(before.costByModel);
    expect(after.costByTenant).toEqual(before.costByTenant);
    expect(after.budgets).toEqual(before.budgets);
    expect(after.totals.costUsd).toBeCloseTo(0.008, 12);
    // Counters since start are new; the ledger's totals are not.
    expect(after.totals.requests ?? 0).toBe(0);

    // acme: $0.006 spent + ~$0.001 would pass $0.0065 on any provider.
    const err = await error(ask("acme"));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toMatch(/tenant "acme" daily budget \$0\.0065 would be exceeded \(\$0\.0060 spent/);
    expect(Number(err.metadata.get("retry-after-ms"))).toBeGreaterThan(0);
    // Other tenants still go, and never to up (its budget would be passed).
    expect((await ask("other")).provider).toBe("spare");
    expect((await ask("other")).provider).toBe("spare");
  });

  it("shows a provider past its budget as out of rotation", async () => {
    const up = await fake("up");
    const spare = await fake("spare");
    const s = await startServer({
      cost: { budgets: { tenants: { acme: { daily_usd: 0.0021 } } } },
      providers: [openaiProvider("up", up.url, { pricing: { input_per_1m: 1, output_per_1m: 10 }, budget: { monthly_usd: 0.002 } }), openaiProvider("spare", spare.url)],
    });
    cleanup.push(() => s.close());
    // The provider budget allows one call; the tenant's too (the second one is refused).
    s.server.cost.spend.add("provider", "up", 0.002);
    const stats = await s.connect.getPoolStats({ providers: ["up"] });
    expect(stats.providers[0]).toMatchObject({ name: "up", healthy: false, state: ProviderState.DISABLED });
    expect(stats.providers[0]!.lastError).toMatch(/^budget: monthly budget \$0\.0020 spent \(\$0\.0020\); back in rotation at \d{4}-\d{2}-01T00:00:00\.000Z$/);
    expect(stats.healthyProviders).toBe(1);
    // The filter narrows provider budgets; tenant budgets are pool-wide, like the totals.
    expect(stats.budgets.map((b) => [b.scope, b.key, b.exhausted])).toEqual([
      ["tenant", "acme", false],
      ["provider", "up", true],
    ]);
    const health = await s.connect.health({});
    expect(health.providers.find((p) => p.name === "up")).toMatchObject({ healthy: false, state: ProviderState.DISABLED });
    const text = await (await fetch(`${s.url}/metrics`)).text();
    expect(text).toMatch(/^llmpool_provider_healthy\{provider="up"\} 0$/m);
    expect(text).toMatch(/^llmpool_provider_state\{provider="up",state="disabled"\} 1$/m);
    expect(text).toMatch(/^llmpool_budget_spent_usd\{scope="provider",key="up",period="monthly"\} 0\.002$/m);
    expect(text).toMatch(/^llmpool_budget_limit_usd\{scope="tenant",key="acme",period="daily"\} 0\.0021$/m);
    // Only spare serves now; with it named and only it allowed, up is refused for its budget.
    expect((await s.connect.chat({ messages: [user("x")] })).provider).toBe("spare");
    const err = await error(s.connect.chat({ messages: [user("x")], routing: { provider: "up", onlyProvider: true } }));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toContain("up: provider up monthly budget $0.0020 is spent ($0.0020)");
    // A tenant past its budget is refused at once, and the refusal is counted and logged.
    await s.connect.chat({ messages: [user("x")], metadata: { tenant: "acme" } });
    s.server.cost.spend.add("tenant", "acme", 0.01);
    const spent = await error(s.connect.chat({ messages: [user("x")], metadata: { tenant: "acme" } }));
    expect(spent.code).toBe(Code.ResourceExhausted);
    expect(spent.rawMessage).toMatch(/^budget exhausted: tenant "acme" daily budget \$0\.0021 is spent/);
    const after = await (await fetch(`${s.url}/metrics`)).text();
    expect(after).toMatch(/^llmpool_requests_total\{kind="chat",model="gpt-4o-mini",outcome="resource_exhausted"\} 2$/m);
  });

  it("refuses to start on a ledger path it cannot open, naming the key", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "llmpool-bad-")), "not-a-dir");
    writeFileSync(file, "");
    const path = join(file, "ledger.db");
    await expect(startServer({ cost: { ledger: { path } }, providers: [{ name: "m", type: "mock", models: ["m"] }] })).rejects.toThrow(
      `cost.ledger.path: cannot open ledger ${JSON.stringify(path)}`,
    );
  });
});

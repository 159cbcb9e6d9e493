/**
 * Scale-out (issue 10): three real llmpool processes sharing one real redis-server hold one
 * set of limits, budgets and spend; a Redis outage answers every call and never crashes a
 * replica; a restarted (empty) Redis is used again within seconds.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatRequestSchema } from "../gen/llmpool/v1/llmpool_pb.js";
import { estimatePromptTokens } from "../src/pool/tokens.js";
import { startFakeOpenAI, type FakeUpstream } from "./helpers/fake-openai.js";
import { startRedis, type TestRedis } from "./helpers/redis.js";
import { startReplica, type Replica } from "./helpers/replicas.js";

let redis: TestRedis;
let replicas: Replica[] = [];
let up: Record<"rpm" | "tpm" | "budget" | "free", FakeUpstream>;

const provider = (name: string, f: FakeUpstream, model: string, extra: Record<string, unknown> = {}) => ({
  name,
  type: "openai",
  base_url: f.url,
  api_key: `sk-test-${name}-secret-0123456789`,
  models: [model],
  circuit_breaker: { enabled: false },
  ...extra,
});

const BUDGET = 1;
const PRICE = { input_per_1m: 1000, output_per_1m: 1000 };
const MAX_TOKENS = 100;

beforeAll(async () => {
  redis = await startRedis();
  up = {
    rpm: await startFakeOpenAI("rpm"),
    tpm: await startFakeOpenAI("tpm"),
    budget: await startFakeOpenAI("budget"),
    free: await startFakeOpenAI("free"),
  };
  const config = {
    log: { level: "info" },
    server: { reload: { watch: false }, dashboard: { enabled: false } },
    pool: {
      warmup: { enabled: false },
      health_check_interval_s: 300,
      max_retries: 0,
      outlier_detection: { enabled: false },
      queue: { max_size: 100, timeout_ms: 1000 },
    },
    cost: { ledger: { path: ":memory:" }, budgets: { tenants: { acme: { daily_usd: BUDGET } } } },
    state: { backend: "redis", url: "${REDIS_URL}", key_prefix: "scale-test", on_unavailable: "local", replicas_hint: 3 },
    providers: [
      provider("rpm-a", up.rpm, "rpm-model", { rpm: 30 }),
      provider("tpm-a", up.tpm, "tpm-model", { tpm: 1000 }),
      provider("budget-a", up.budget, "budget-model", { pricing: PRICE }),
      provider("free-a", up.free, "free-model", { pricing: { input_per_1m: 1, output_per_1m: 2 } }),
    ],
  };
  replicas = await Promise.all([0, 1, 2].map(() => startReplica(config, { REDIS_URL: redis.url })));
}, 200_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await Promise.all(Object.values(up ?? {}).map((f) => f.close()));
  await redis?.close();
});

const ask = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: "user", content: "hello there" }], ...extra });

type Result = { ok: true; provider: string; cost: number } | { ok: false; code: Code; message: string; retryAfterMs?: number };

async function call(r: Replica, req: ReturnType<typeof ask>, timeoutMs = 10_000): Promise<Result> {
  try {
    const res = await r.grpc.chat(req as never, { timeoutMs });
    return { ok: true, provider: res.provider, cost: res.costUsd };
  } catch (err) {
    const e = ConnectError.from(err);
    const ra = e.metadata.get("retry-after-ms");
    return { ok: false, code: e.code, message: e.rawMessage, retryAfterMs: ra === null ? undefined : Number(ra) };
  }
}

/**
 * Which replica takes call i: most go to the first, a few to each other one, so per-replica
 * limits (limit / replicas each) would serve visibly fewer than one shared limit does.
 */
const skewed = (i: number) => (i % 25 === 0 ? 1 : i % 25 === 12 ? 2 : 0);

/** `n` calls spread over the replicas by `which`, at most `parallel` at once. */
async function spread(n: number, parallel: number, req: (i: number) => ReturnType<typeof ask>, which = skewed): Promise<Result[]> {
  const out: Result[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let i = next++; i < n; i = next++) out[i] = await call(replicas[which(i)]!, req(i));
    }),
  );
  return out;
}

/** Poll `f` until it returns true or `ms` pass. */
async function eventually(f: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await f()) return;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("three replicas sharing one redis-server", () => {
  it("rpm 30: of 90 calls spread over the replicas at most 30 reach the upstream, at least 27 are served", async () => {
    for (const r of replicas) expect(await (await fetch(`${r.url}/metrics`)).text()).toMatch(/llmpool_state_backend_up\{backend="redis"\} 1/);
    const results = await spread(90, 9, () => ask("rpm-model"));
    const served = results.filter((r) => r.ok).length;
    expect(up.rpm.chatRequests().length).toBeLessThanOrEqual(30);
    expect(served).toBe(up.rpm.chatRequests().length);
    expect(served).toBeGreaterThanOrEqual(27);
    for (const r of results) {
      if (r.ok) continue;
      expect(r.code).toBe(Code.ResourceExhausted);
      expect(r.message).toMatch(/rpm 30 reached \(cluster-wide\)/);
      expect(r.retryAfterMs).toBeGreaterThan(0);
    }
  }, 60_000);

  it("tpm holds under 50 concurrent calls over the replicas (prompt + max_tokens reserved, unused part refunded)", async () => {
    // Slow answers: all 50 are in flight together, so only reservations decide.
    up.tpm.behave({ delayMs: 1500 });
    const req = ask("tpm-model", { maxTokens: MAX_TOKENS });
    const reserve = estimatePromptTokens(create(ChatRequestSchema, req as never)) + MAX_TOKENS;
    const results = await spread(50, 50, () => req);
    const served = results.filter((r) => r.ok).length;
    expect(served).toBe(Math.floor(1000 / reserve));
    expect(up.tpm.chatRequests().length).toBe(served);
    for (const r of results) if (!r.ok) expect(r.code).toBe(Code.ResourceExhausted);
    // Real usage (10 prompt + a few completion tokens) replaced each reservation: room again.
    up.tpm.behave({});
    await eventually(async () => (await call(replicas[0]!, req)).ok);
  }, 60_000);

  it("a tenant budget holds under 50 concurrent calls over the replicas", async () => {
    up.budget.behave({ delayMs: 1500 });
    const req = ask("budget-model", { maxTokens: MAX_TOKENS, metadata: { tenant: "acme" } });
    const estimate = ((estimatePromptTokens(create(ChatRequestSchema, req as never)) + MAX_TOKENS) * 1000) / 1e6;
    const results = await spread(50, 50, () => req);
    const served = results.filter((r) => r.ok);
    expect(served.length).toBe(Math.floor(BUDGET / estimate));
    expect(up.budget.chatRequests().length).toBe(served.length);
    for (const r of results) {
      if (r.ok) continue;
      expect(r.code).toBe(Code.ResourceExhausted);
      expect(r.message).toMatch(/tenant "acme" daily budget \$1\.00/);
    }
    const spent = served.reduce((s, r) => s + (r.ok ? r.cost : 0), 0);
    expect(spent).toBeLessThanOrEqual(BUDGET);
    up.budget.behave({});
  }, 60_000);

  it("spend made on replicas 1 and 2 shows in GetPoolStats on replica 3", async () => {
    const req = (tenant: string) => ask("free-model", { metadata: { tenant } });
    const r1 = await call(replicas[0]!, req("spender"));
    const r2 = await call(replicas[1]!, req("spender"));
    const r3 = await call(replicas[1]!, req("spender"));
    const total = [r1, r2, r3].reduce((s, r) => s + (r.ok ? r.cost : 0), 0);
    expect(total).toBeGreaterThan(0);
    await eventually(async () => {
      const stats = await replicas[2]!.grpc.getPoolStats({});
      const t = stats.costByTenant.find((c) => c.key === "spender");
      const p = stats.costByProvider.find((c) => c.key === "free-a");
      return Number(t?.requests) === 3 && Math.abs(t!.costUsd - total) < 1e-9 && Number(p?.requests) === 3;
    });
    // The rpm window is the cluster's on every replica: the first test spent this minute's 30.
    for (const r of replicas) {
      const rl = (await r.grpc.getPoolStats({})).providers.find((p) => p.name === "rpm-a")?.rateLimit;
      expect(rl?.rpmLimit).toBe(30);
      expect(rl?.rpmRemaining).toBe(0);
    }
    // The budget status of "acme" is cluster-wide too: every replica reports the same spend.
    const spent = await Promise.all(replicas.map(async (r) => (await r.grpc.getPoolStats({})).budgets.find((b) => b.key === "acme" && b.period === "daily")?.spentUsd));
    expect(spent[0]).toBeGreaterThan(0);
    expect(new Set(spent).size).toBe(1);
  }, 60_000);

  it("Redis killed mid-load: every call is answered and no replica crashes; restarted, it is used again within seconds", async () => {
    let stop = false;
    const answers: Result[] = [];
    const load = Promise.all(
      replicas.map(async (r) => {
        while (!stop) answers.push(await call(r, ask("free-model"), 3000));
      }),
    );
    await eventually(() => answers.length >= 30);
    await redis.kill();
    const killedAt = answers.length;
    await eventually(() => answers.length >= killedAt + 30);
    await redis.start();
    // Each replica notices, logs once, and its gauge says so.
    await eventually(async () => {
      const gauges = await Promise.all(replicas.map(async (r) => (await fetch(`${r.url}/metrics`)).text()));
      return gauges.every((g) => /llmpool_state_backend_up\{backend="redis"\} 1/.test(g));
    }, 15_000);
    stop = true;
    await load;
    expect(replicas.every((r) => r.alive())).toBe(true);
    // Served, or refused with a gRPC code: nothing hung past its deadline, nothing else.
    for (const a of answers) if (!a.ok) expect([Code.ResourceExhausted, Code.Unavailable]).toContain(a.code);
    expect(answers.slice(killedAt).filter((a) => a.ok).length).toBeGreaterThan(0);
    for (const r of replicas) {
      const down = r.logs.filter((l) => String(l.msg).startsWith("state backend down"));
      expect(down.length).toBeGreaterThanOrEqual(1);
      expect(JSON.stringify(down)).toContain("local limits (each limit / 3)");
    }
    // The fresh Redis counts again: a call made now shows in the shared spend.
    const before = up.free.chatRequests().length;
    expect((await call(replicas[0]!, ask("free-model", { metadata: { tenant: "after" } }))).ok).toBe(true);
    expect(up.free.chatRequests().length).toBe(before + 1);
    await eventually(async () => (await replicas[1]!.grpc.getPoolStats({})).costByTenant.some((c) => c.key === "after"));
  }, 90_000);
});

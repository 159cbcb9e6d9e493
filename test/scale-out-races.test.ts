/**
 * Scale-out (issue 10) for calls beyond a request's first attempt: racing legs (pool-level
 * `strategy: racing`), a racing composite's members and a fallback composite's members are
 * each reserved on the shared counters before they start, so across real replicas sharing one
 * real redis-server a member with `rpm: N` receives at most N calls, and a refused leg or
 * member is simply not called while the request is still served by the others.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeUpstream } from "./helpers/fake-openai.js";
import { startRedis, type TestRedis } from "./helpers/redis.js";
import { startReplica, type Replica } from "./helpers/replicas.js";

const RPM = 8;
const CALLS = 24;

let redis: TestRedis;
let replicas: Replica[] = [];
const up: Record<string, FakeUpstream> = {};

const provider = (name: string, model: string, extra: Record<string, unknown> = {}) => ({
  name,
  type: "openai",
  base_url: up[name]!.url,
  api_key: `sk-test-${name}-secret-0123456789`,
  models: [model],
  circuit_breaker: { enabled: false },
  ...extra,
});

beforeAll(async () => {
  redis = await startRedis();
  for (const n of ["pool-lim", "pool-free", "race-lim", "race-free", "fb-lim", "fb-free"]) up[n] = await startFakeOpenAI(n);
  const config = {
    log: { level: "warn" },
    server: { reload: { watch: false }, dashboard: { enabled: false } },
    pool: {
      strategy: "racing",
      strategy_options: { racing: { mode: "first_wins", fanout: 2 } },
      warmup: { enabled: false },
      health_check_interval_s: 300,
      max_retries: 0,
      outlier_detection: { enabled: false },
      queue: { max_size: 100, timeout_ms: 1000 },
    },
    cost: { ledger: { path: ":memory:" } },
    state: { backend: "redis", url: "${REDIS_URL}", key_prefix: "races-test", on_unavailable: "local", replicas_hint: 2 },
    providers: [
      // Pool-level racing: every request to pool-model races both.
      provider("pool-lim", "pool-model", { rpm: RPM }),
      provider("pool-free", "pool-model"),
      // Members reached only through their composites (a private model alias).
      provider("race-lim", "race@m", { rpm: RPM }),
      provider("race-free", "race@m"),
      provider("fb-lim", "fb@m", { rpm: RPM }),
      provider("fb-free", "fb@m"),
      { name: "race", type: "racing", members: ["race-lim", "race-free"], models: { "race-model": "race@m" }, strategy_options: { racing: { mode: "first_wins", fanout: 2 } } },
      { name: "fb", type: "fallback", members: ["fb-lim", "fb-free"], models: { "fb-model": "fb@m" } },
    ],
  };
  replicas = await Promise.all([0, 1].map(() => startReplica(config, { REDIS_URL: redis.url })));
}, 200_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await Promise.all(Object.values(up).map((f) => f.close()));
  await redis?.close();
});

type Result = { ok: true; provider: string } | { ok: false; code: Code; message: string };

async function call(r: Replica, model: string): Promise<Result> {
  try {
    const res = await r.grpc.chat({ model, messages: [{ role: "user", content: "hello there" }] } as never, { timeoutMs: 10_000 });
    return { ok: true, provider: res.provider };
  } catch (err) {
    const e = ConnectError.from(err);
    return { ok: false, code: e.code, message: e.rawMessage };
  }
}

/** `n` calls to `model`, alternating between the replicas, `parallel` at once. */
async function spread(model: string, n: number, parallel: number): Promise<Result[]> {
  const out: Result[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let i = next++; i < n; i = next++) out[i] = await call(replicas[i % replicas.length]!, model);
    }),
  );
  return out;
}

describe("two replicas: race legs and composite members reserve against the shared rpm", () => {
  it.each([
    ["pool racing (strategy: racing, fanout 2)", "pool-model", "pool-lim", "pool-free"],
    ["a racing composite's members", "race-model", "race-lim", "race-free"],
    ["a fallback composite's members", "fb-model", "fb-lim", "fb-free"],
  ])("%s: the rpm-limited member receives at most its limit across the replicas; every call is served", async (_what, model, lim, free) => {
    // Slow answers: both legs of a race are under way together (a leg granted after its race
    // was decided is given back, not started).
    up[lim]!.behave({ delayMs: 50 });
    up[free]!.behave({ delayMs: 50 });
    const results = await spread(model, CALLS, 6);
    for (const r of results) expect(r).toMatchObject({ ok: true });
    const limited = up[lim]!.chatRequests().length;
    expect(limited).toBeLessThanOrEqual(RPM);
    // It did take calls up to its limit: the limit, not an outage, kept the rest away.
    expect(limited).toBeGreaterThanOrEqual(RPM - 1);
    expect(up[free]!.chatRequests().length).toBeGreaterThanOrEqual(CALLS - limited);
    // The cluster's window is spent on every replica.
    for (const r of replicas) {
      const rl = (await r.grpc.getPoolStats({})).providers.find((p) => p.name === lim)?.rateLimit;
      expect(rl?.rpmLimit).toBe(RPM);
      expect(rl?.rpmRemaining).toBeLessThanOrEqual(RPM - limited);
    }
  }, 60_000);
});

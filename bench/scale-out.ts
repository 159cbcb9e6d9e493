/**
 * Scale-out cost: requests/s and latency per call through llmpool with `state.backend: memory`
 * (one replica) and `redis` (1, 2 and 3 replicas sharing one redis-server), every replica a
 * real `llmpool serve` process, the load spread round-robin over them. The provider has rpm,
 * tpm and max_concurrency set (high enough never to refuse), so each call really reserves
 * and settles on the shared counters. Round trips per reservation come from Redis's own
 * command statistics (INFO commandstats), not from llmpool.
 *
 *   node --import tsx bench/scale-out.ts [--duration 8] [--concurrency 32] [--replicas 1,2,3]
 *
 * Needs Debian's redis-server. Client, replicas, upstream and Redis share this machine's cores,
 * so the figures compare the setups with each other; they are not a capacity figure.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { startRedis } from "../test/helpers/redis.js";
import { startReplica, type Replica } from "../test/helpers/replicas.js";
import { createRedisState } from "../src/state/redis.js";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "8" },
    concurrency: { type: "string", default: "32" },
    replicas: { type: "string", default: "1,2,3" },
  },
});
const DURATION_MS = Number(values.duration) * 1000;
const CONCURRENCY = Number(values.concurrency);
const COUNTS = values.replicas.split(",").map(Number);

const children: ChildProcess[] = [];
process.on("exit", () => children.forEach((c) => c.kill("SIGTERM")));

async function startUpstream(): Promise<number> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/upstream.ts"], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  for await (const line of createInterface({ input: child.stdout! })) return Number(line);
  throw new Error("upstream did not start");
}

function config(upstreamPort: number, state: Record<string, unknown>) {
  return {
    log: { level: "warn" },
    server: { reload: { watch: false }, dashboard: { enabled: false } },
    pool: { warmup: { enabled: false }, health_check_interval_s: 300 },
    cost: { ledger: { path: ":memory:" } },
    state,
    providers: [
      {
        name: "up",
        type: "openai",
        base_url: `http://127.0.0.1:${upstreamPort}/v1`,
        api_key: "sk-bench-0123456789abcdef",
        models: ["bench-model"],
        rpm: 100_000_000,
        tpm: 1_000_000_000,
        max_concurrency: 100_000,
        pricing: { input_per_1m: 1, output_per_1m: 2 },
      },
    ],
  };
}

interface Figures {
  setup: string;
  calls: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
  reserveCalls?: number;
  totalRedisCalls?: number;
}

async function load(replicas: Replica[]): Promise<{ calls: number; errors: number; ms: number; lat: number[] }> {
  const req = { model: "bench-model", messages: [{ role: "user", content: "hello there, how are you?" }], maxTokens: 32, metadata: { tenant: "bench" } };
  // Warm every replica's connections first.
  for (const r of replicas) for (let i = 0; i < 20; i++) await r.grpc.chat(req);
  const lat: number[] = [];
  let calls = 0;
  let errors = 0;
  let next = 0;
  const start = performance.now();
  const end = start + DURATION_MS;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const r = replicas[next++ % replicas.length]!;
        const t = performance.now();
        try {
          await r.grpc.chat(req);
          lat.push(performance.now() - t);
          calls++;
        } catch {
          errors++;
        }
      }
    }),
  );
  return { calls, errors, ms: performance.now() - start, lat: lat.sort((a, b) => a - b) };
}

async function commandStats(url: string): Promise<Map<string, number>> {
  const c = new Redis(url);
  const text = await c.info("commandstats");
  await c.quit();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

async function run(setup: string, n: number, state: Record<string, unknown>, upstreamPort: number, redisUrl?: string): Promise<Figures> {
  const replicas = await Promise.all(Array.from({ length: n }, () => startReplica(config(upstreamPort, state), redisUrl ? { REDIS_URL: redisUrl } : {})));
  try {
    const before = redisUrl ? await commandStats(redisUrl) : undefined;
    const r = await load(replicas);
    const after = redisUrl ? await commandStats(redisUrl) : undefined;
    const delta = (name: string) => (after?.get(name) ?? 0) - (before?.get(name) ?? 0);
    let total = 0;
    if (after) for (const [k, v] of after) if (k !== "info") total += v - (before?.get(k) ?? 0);
    // The warm-up calls (20 per replica) ran inside the measured Redis window too.
    const reserved = r.calls + r.errors + 20 * n;
    return {
      setup,
      calls: r.calls,
      errors: r.errors,
      rps: (r.calls / r.ms) * 1000,
      p50: r.lat[Math.floor(r.lat.length * 0.5)] ?? 0,
      p99: r.lat[Math.floor(r.lat.length * 0.99)] ?? 0,
      // evalsha = reserve + settle per call; each is one round trip.
      reserveCalls: redisUrl ? (delta("evalsha") + delta("eval")) / 2 / reserved : undefined,
      totalRedisCalls: redisUrl ? total / reserved : undefined,
    };
  } finally {
    await Promise.all(replicas.map((x) => x.stop()));
  }
}

/**
 * What the request path waits for: one reserve script, timed alone from a client (the settle
 * runs after the answer is sent). Sequential, so this is one round trip plus the script.
 */
async function reserveLatency(url: string, n = 3000): Promise<{ p50: number; p99: number }> {
  const b = createRedisState({ url, keyPrefix: "bench-rtt", commandTimeoutMs: 10_000 });
  while (!b.up) await new Promise((r) => setTimeout(r, 10));
  const limits = { rpm: 100_000_000, rpd: 0, tpm: 1_000_000_000, maxConcurrency: 100_000, leaseMs: 90_000 };
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const v = await b.reserve({ provider: "up", limits, promptTokens: 12, reserveTokens: 44, estimateUsd: 0.0001, tenant: { name: "bench", limits: { daily_usd: 1e9 } }, now: Date.now() });
    lat.push(performance.now() - t);
    if (v.ok) await b.settle({ provider: "up", model: "m", tenant: "bench", lease: v.lease, startedAt: Date.now(), reservedTokens: 44, usedTokens: 22, estimateUsd: 0.0001, tenantBudget: true, providerBudget: false, usage: { promptTokens: 12, completionTokens: 10 }, costUsd: 0.00003, cooldownMs: 0, cooldownWhy: "", now: Date.now() });
  }
  await b.close();
  lat.sort((a, b) => a - b);
  return { p50: lat[Math.floor(n * 0.5)]!, p99: lat[Math.floor(n * 0.99)]! };
}

const upstreamPort = await startUpstream();
const redis = await startRedis();
const results: Figures[] = [];
let rtt: { p50: number; p99: number } | undefined;
try {
  rtt = await reserveLatency(redis.url);
  results.push(await run("memory, 1 replica", 1, { backend: "memory" }, upstreamPort));
  for (const n of COUNTS) {
    results.push(await run(`redis, ${n} replica${n > 1 ? "s" : ""}`, n, { backend: "redis", url: "${REDIS_URL}", key_prefix: `bench${n}`, replicas_hint: n }, upstreamPort, redis.url));
  }
  // Again at the end: how much of any difference is this shared machine's noise.
  results.push(await run("memory, 1 replica (again)", 1, { backend: "memory" }, upstreamPort));
} finally {
  await redis.close();
}
const base = results[0]!;
console.log(`\nduration ${DURATION_MS / 1000} s per setup, ${CONCURRENCY} concurrent callers, unary gRPC, round-robin over the replicas\n`);
console.log("| setup | calls | errors | req/s | p50 ms | p99 ms | added p50 vs memory | Redis scripts per call (reserve + settle) | Redis commands per call (those inside scripts included) |");
console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const f of results) {
  const scripts = f.reserveCalls === undefined ? "-" : `${(f.reserveCalls * 2).toFixed(2)} (1 reserve = 1 round trip)`;
  console.log(
    `| ${f.setup} | ${f.calls} | ${f.errors} | ${f.rps.toFixed(0)} | ${f.p50.toFixed(2)} | ${f.p99.toFixed(2)} | ${f.setup.startsWith("memory") ? "-" : `${(f.p50 - base.p50).toFixed(2)} ms`} | ${scripts} | ${f.totalRedisCalls === undefined ? "-" : f.totalRedisCalls.toFixed(2)} |`,
  );
}
if (rtt) console.log(`\none reservation (reserve script, sequential, from a client on this machine): p50 ${(rtt.p50 * 1000).toFixed(0)} µs, p99 ${(rtt.p99 * 1000).toFixed(0)} µs`);
process.exit(0);

/**
 * What observability and cost tracking cost a request: the cost tracker (ledger batching,
 * totals, budget spend), budget gates, Prometheus observer, the log line, and a whole
 * in-process request with and without them. Run: npm run bench:ledger
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { ChatRequestSchema } from "../gen/llmpool/v1/llmpool_pb.js";
import { validateConfig } from "../src/config/load.js";
import { openLedger } from "../src/cost/ledger.js";
import { createTablePricer } from "../src/cost/pricer.js";
import { createCostTracker } from "../src/cost/tracker.js";
import { createLogObserver } from "../src/metrics/log-observer.js";
import { createMetrics } from "../src/metrics/metrics.js";
import type { RequestRecord } from "../src/core/outcome.js";
import { Pool, type PoolOptions } from "../src/pool/pool.js";
import { systemClock } from "../src/util/clock.js";
import { createLogger } from "../src/util/logger.js";

const N = Number(process.env.N ?? 200_000);
const dir = mkdtempSync(join(tmpdir(), "llmpool-bench-"));

const raw = {
  cost: { budgets: { tenants: { acme: { daily_usd: 1e9, monthly_usd: 1e9 } } } },
  providers: ["a", "b", "c", "d"].map((name) => ({
    name,
    type: "mock",
    models: ["m"],
    pricing: { input_per_1m: 0.15, output_per_1m: 0.6 },
    budget: { daily_usd: 1e9 },
    mock: { latency_ms: 0, reply: "ok" },
  })),
};
const loaded = validateConfig(raw, "bench", {});

function record(i: number): RequestRecord {
  return {
    requestId: `r${i}`,
    kind: "chat",
    model: "m",
    tenant: i % 2 ? "acme" : "globex",
    startedAt: 0,
    provider: "",
    attempts: 1,
    upstreamCalls: 1,
    providersTried: [],
    retries: 0,
    fallbacks: 0,
    costUsd: 0,
    latencyMs: 0,
  };
}

function time(label: string, n: number, fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`${label.padEnd(58)} ${ns.toFixed(0).padStart(7)} ns/op`);
  return ns;
}

async function main() {
  console.log(`node ${process.version}, N = ${N}\n`);
  const pricer = createTablePricer({ prices: () => loaded.config.cost.prices });
  const pool = new Pool(loaded, { pricer });
  const endpoints = pool.endpoints;
  const usage = { promptTokens: 120, completionTokens: 40, cachedTokens: 0 };
  const outcome = { ok: true, latencyMs: 12, usage, costUsd: 0.000042 };

  // 1. Cost tracker per call, ledger in a WAL file. The tracker's own work (totals, spend,
  //    queueing) and the main thread's part of a flush (packing, postMessage) are what a
  //    request pays; the SQLite write happens on the writer thread.
  const ledger = openLedger({ path: join(dir, "ledger.db"), clock: systemClock, flushIntervalMs: 60_000, maxBatch: 1 << 30 });
  const tracker = await createCostTracker({ config: () => loaded.config, pricer, clock: systemClock, ledger });
  const recs = Array.from({ length: 1024 }, (_, i) => record(i));
  let flushNs = 0;
  let flushes = 0;
  const track = time("cost tracker: attemptEnded (totals, spend, queue)", N, () => {
    for (let i = 0; i < N; i++) {
      tracker.observer.attemptEnded!(recs[i & 1023]!, endpoints[i & 3]!, outcome);
      if (ledger.pending - flushes * 1024 >= 1024) {
        const t0 = process.hrtime.bigint();
        ledger.flush();
        flushNs += Number(process.hrtime.bigint() - t0);
        flushes++;
      }
    }
  }) - flushNs / N;
  const perFlush = flushNs / flushes;
  console.log(`${"  of which the tracker's own work".padEnd(58)} ${track.toFixed(0).padStart(7)} ns/op`);
  console.log(`${"  of which flush on the event loop (pack + postMessage)".padEnd(58)} ${(perFlush / 1024).toFixed(0).padStart(7)} ns/op (${(perFlush / 1e3).toFixed(0)} µs per 1024-call batch)`);
  const w0 = process.hrtime.bigint();
  await ledger.drain();
  const written = Number(process.hrtime.bigint() - w0);
  console.log(`${"writer thread: drain the rest after the loop".padEnd(58)} ${(written / 1e6).toFixed(0).padStart(7)} ms`);
  // The writer thread's throughput, measured on its own.
  const solo = openLedger({ path: join(dir, "solo.db"), clock: systemClock, flushIntervalMs: 60_000, maxBatch: 1 << 30 });
  const M = 51_200;
  const s0 = process.hrtime.bigint();
  for (let i = 0; i < M; i++) {
    solo.append({ ts: Date.now(), requestId: `r${i}`, tenant: "acme", provider: "a", model: "m", upstreamModel: "m", promptTokens: 120, completionTokens: 40, cachedTokens: 0, estimated: false, costUsd: 0.000042 });
    if ((i & 1023) === 1023) solo.flush();
  }
  await solo.drain();
  console.log(`${"writer thread: SQLite insert, 1024 calls per transaction".padEnd(58)} ${(Number(process.hrtime.bigint() - s0) / M).toFixed(0).padStart(7)} ns/call (off the event loop)`);
  await solo.close();
  console.log();

  // 2. Budget gates (tenant and provider budgets configured).
  const req = create(ChatRequestSchema, { messages: [{ role: "user", content: "hello" }], metadata: { tenant: "acme" } });
  const gateReq = { request: req, record: recs[1]!, stream: false, promptTokens: 12, maxTokens: 256, upstreamModel: "m" };
  time("budget EndpointGate.check (tenant + provider budget)", N, () => {
    for (let i = 0; i < N; i++) tracker.budgets.endpointGate.check(endpoints[i & 3]!, gateReq, 0);
  });
  time("budget RequestGate.admit (tenant budget)", N, () => {
    for (let i = 0; i < N; i++) tracker.budgets.requestGate.admit(req, recs[1]!);
  });

  // 3. Prometheus observer and scrape.
  const metrics = createMetrics(() => pool, { processMetrics: false, cost: tracker });
  time("metrics: attemptStarted + attemptEnded + requestEnded", N, () => {
    for (let i = 0; i < N; i++) {
      const r = recs[i & 1023]!;
      metrics.observer.attemptStarted!(r, endpoints[i & 3]!, "first");
      metrics.observer.attemptEnded!(r, endpoints[i & 3]!, outcome);
      metrics.observer.requestEnded!(r);
    }
  });
  let scrapes = 0;
  const t0 = process.hrtime.bigint();
  while (scrapes < 200) {
    await metrics.registry.metrics();
    scrapes++;
  }
  console.log(`${"GET /metrics render (4 providers, no process metrics)".padEnd(58)} ${(Number(process.hrtime.bigint() - t0) / scrapes / 1e3).toFixed(0).padStart(7)} µs/scrape`);

  // 4. The log line (pino to /dev/null).
  const { createWriteStream } = await import("node:fs");
  const devnull = createWriteStream("/dev/null");
  const log = createLogObserver(createLogger("info", devnull));
  const done = { ...recs[1]!, provider: "a", usage: { ...usage, estimated: false }, costUsd: 0.000042, latencyMs: 12.3456, finishReason: "stop" };
  time("log observer: one JSON line per request", Math.min(N, 100_000), () => {
    for (let i = 0; i < Math.min(N, 100_000); i++) log.requestEnded!(done);
  });
  console.log();

  // 5. Whole requests in process (mock upstream, no latency), with and without observers.
  const ctx = { signal: new AbortController().signal, requestId: "b" };
  const chatReq = create(ChatRequestSchema, { messages: [{ role: "user", content: "hello" }], maxTokens: 16, metadata: { tenant: "acme" } });
  const run = async (label: string, opts: PoolOptions, n = 50_000) => {
    const p = new Pool(loaded, opts);
    for (let i = 0; i < 2000; i++) await p.chat(chatReq, ctx); // warm up
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await p.chat(chatReq, ctx);
    const ns = Number(process.hrtime.bigint() - t) / n;
    console.log(`${label.padEnd(58)} ${(ns / 1000).toFixed(2).padStart(7)} µs/request`);
    return ns;
  };
  const bare = await run("Pool.chat, no observers, no gates", { pricer });
  const l2 = openLedger({ path: join(dir, "ledger2.db"), clock: systemClock });
  const t2 = await createCostTracker({ config: () => loaded.config, pricer, clock: systemClock, ledger: l2 });
  const m2 = createMetrics(() => pool, { processMetrics: false, cost: t2 });
  const full = await run("Pool.chat + cost tracker + budgets + metrics + log line", {
    pricer,
    observers: [t2.observer, m2.observer, createLogObserver(createLogger("info", devnull))],
    gates: [t2.budgets.endpointGate],
    requestGates: [t2.budgets.requestGate],
  });
  console.log(`${"observability and cost overhead per request".padEnd(58)} ${((full - bare) / 1000).toFixed(2).padStart(7)} µs/request`);
  await l2.close();
  await tracker.close();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

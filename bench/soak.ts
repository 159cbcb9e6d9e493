/**
 * Soak: mixed unary and streaming load with failures injected, watching memory.
 *
 *   node --expose-gc --import tsx bench/soak.ts [--duration 600] [--concurrency 16]
 *
 * Three fake upstreams: a fails 10% of calls with 500s, b breaks 10% of its streams after
 * their first chunks (resumed elsewhere) and answers 429 with a retry delay now and then, c
 * dies for 5 s every 30 s. One llmpool (defaults plus a queue, 2 s breaker reset) takes the
 * load in this process. After a warm-up (10% of the run, at most 30 s) RSS and heap are taken
 * after a full GC, then sampled every 5 s, and taken again after a GC at the end: a pool that
 * leaks under load shows heap growth well beyond noise.
 */
import { parseArgs } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { LLMPool } from "../gen/llmpool/v1/llmpool_pb.js";
import { validateConfig } from "../src/config/load.js";
import { createLlmpoolServer } from "../src/server/server.js";
import { createLogger } from "../src/util/logger.js";
import { startFakeOpenAI } from "../test/helpers/fake-openai.js";

const { values } = parseArgs({ options: { duration: { type: "string", default: "600" }, concurrency: { type: "string", default: "16" } } });
const DURATION_MS = Number(values.duration) * 1000;
const CONCURRENCY = Number(values.concurrency);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error("run with node --expose-gc, so memory is compared after full collections");
  process.exit(2);
}

const CHUNKS = ["The ", "quick ", "brown ", "fox ", "jumps ", "over ", "the ", "lazy ", "dog."];
const [a, b, c] = await Promise.all(["a", "b", "c"].map((n) => startFakeOpenAI(n)));
a!.behave((_r, n) => (n % 10 === 0 ? { status: 500 } : { delayMs: 15, chunks: CHUNKS, chunkDelayMs: 3 }));
b!.behave((req, n) =>
  n % 50 === 0
    ? { status: 429, headers: { "retry-after-ms": "300" } }
    : n % 10 === 5 && req.body?.stream && req.body.messages.at(-1)?.role !== "assistant"
      ? { chunks: CHUNKS, chunkDelayMs: 3, dropAfterChunks: 3 }
      : { delayMs: 15, chunks: CHUNKS, chunkDelayMs: 3 },
);
c!.behave({ delayMs: 15, chunks: CHUNKS, chunkDelayMs: 3 });
// Keep the fakes' request logs from growing: they are bench fixtures, not llmpool.
const trim = setInterval(() => {
  for (const u of [a!, b!, c!]) u.requests.splice(0);
}, 1000);
const chaos = setInterval(() => {
  void c!.kill().then(() => setTimeout(() => void c!.revive(), 5000));
}, 30_000);

const loaded = validateConfig(
  {
    log: { level: "silent" },
    pool: { strategy: "round_robin", queue: { max_size: 200, timeout_ms: 5000 }, outlier_detection: { base_ejection_time_ms: 2000 } },
    providers: [a!, b!, c!].map((u) => ({
      name: u.name,
      type: "openai",
      base_url: u.url,
      api_key: "sk-bench-0000000000",
      models: ["gpt-4o-mini"],
      max_concurrency: 8,
      circuit_breaker: { failure_threshold: 3, reset_timeout_ms: 2000 },
    })),
  },
  "soak",
);
const server = await createLlmpoolServer({ loaded, logger: createLogger("silent"), processMetrics: false });
const { port } = await server.listen(0, "127.0.0.1");
const client = createClient(LLMPool, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));

const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
const mem = () => {
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
};
const tally = { unary: 0, stream: 0, unaryFailed: 0, streamFailed: 0, resumed: 0 };
const errors = new Map<string, number>();
const started = performance.now();
const stopAt = started + DURATION_MS;
const warmupMs = Math.min(30_000, DURATION_MS * 0.1);
let baseline: { rss: number; heap: number } | undefined;
let peak = { rss: 0, heap: 0 };
const sampler = setInterval(() => {
  if (!baseline && performance.now() - started >= warmupMs) {
    gc();
    baseline = mem();
    peak = { ...baseline };
  }
  if (baseline) {
    const m = mem();
    peak = { rss: Math.max(peak.rss, m.rss), heap: Math.max(peak.heap, m.heap) };
  }
}, 5000);

await Promise.all(
  Array.from({ length: CONCURRENCY }, async (_, w) => {
    let i = 0;
    while (performance.now() < stopAt) {
      const streaming = (i++ + w) % 2 === 0;
      try {
        if (streaming) {
          tally.stream++;
          let text = "";
          for await (const ch of client.streamChat({ messages: [{ role: "user", content: `soak ${i}` }], metadata: { priority: String(w % 3) } })) {
            text += ch.delta;
            if (ch.failover) tally.resumed++;
          }
          if (text !== CHUNKS.join("")) throw new Error("stream text differs");
        } else {
          tally.unary++;
          await client.chat({ messages: [{ role: "user", content: `soak ${i}` }] });
        }
      } catch (err) {
        if (streaming) tally.streamFailed++;
        else tally.unaryFailed++;
        const m = String((err as Error).message).replace(/\b\d+ ms/g, "N ms").slice(0, 400);
        errors.set(m, (errors.get(m) ?? 0) + 1);
      }
    }
  }),
);
clearInterval(sampler);
clearInterval(chaos);
clearInterval(trim);
gc();
const end = mem();
const stats = await client.getPoolStats({});
console.log(`duration ${DURATION_MS / 1000} s, concurrency ${CONCURRENCY}, half streams; memory after GC\n`);
console.log("| calls | unary failed | streams failed | streams resumed | RSS start MB | RSS end MB | RSS peak MB | heap start MB | heap end MB | heap peak MB | queue / in flight at end |");
console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
console.log(
  `| ${tally.unary + tally.stream} | ${tally.unaryFailed} of ${tally.unary} | ${tally.streamFailed} of ${tally.stream} | ${tally.resumed} | ${mb(baseline!.rss)} | ${mb(end.rss)} | ${mb(peak.rss)} | ${mb(baseline!.heap)} | ${mb(end.heap)} | ${mb(peak.heap)} | ${stats.totals!.queueDepth} / ${stats.totals!.inFlight} |`,
);
console.log(`\nupstream calls ${stats.totals!.upstreamCalls}, retries ${stats.totals!.retries}, fallbacks ${stats.totals!.fallbacks}`);
if (errors.size > 0) {
  console.log("errors:");
  for (const [m, n] of errors) console.log(`  ${n} x ${m}`);
}
await server.close(2000);
await Promise.all([a!, b!, c!].map((u) => u.close()));

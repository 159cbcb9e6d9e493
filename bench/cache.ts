/**
 * What a response-cache hit costs compared with a call that goes through the pool to a mock
 * upstream answering in 0 ms, measured through the real server over gRPC (h2c) with one
 * client calling in sequence. Run: npm run bench:cache
 */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { performance } from "node:perf_hooks";
import { LLMPool } from "../gen/llmpool/v1/llmpool_pb.js";
import { validateConfig } from "../src/config/load.js";
import { createLlmpoolServer } from "../src/server/server.js";
import { createLogger } from "../src/util/logger.js";

const N = Number(process.env.N ?? 3000);
const loaded = validateConfig(
  {
    log: { level: "warn" },
    cache: { enabled: true },
    cost: { ledger: { path: ":memory:" } },
    providers: [{ name: "mock", type: "mock", models: ["m"], mock: { latency_ms: 0, reply: "a cached answer of a few words" } }],
  },
  "bench",
  {},
);
const server = await createLlmpoolServer({ loaded, logger: createLogger("warn"), processMetrics: false });
const { port } = await server.listen(0, "127.0.0.1");
const client = createClient(LLMPool, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
const req = (skip: boolean) => ({ model: "m", messages: [{ role: "user", content: "hello" }], metadata: (skip ? { cache: "skip" } : {}) as Record<string, string> });

async function run(skip: boolean): Promise<number> {
  for (let i = 0; i < 300; i++) await client.chat(req(skip)); // warm up
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await client.chat(req(skip));
  return ((performance.now() - t0) * 1000) / N;
}

const miss = await run(true);
const hit = await run(false);
const streamT0 = performance.now();
for (let i = 0; i < N; i++) for await (const _ of client.streamChat(req(false))) void _;
const streamHit = ((performance.now() - streamT0) * 1000) / N;
console.log(`through the pool (cache: skip): ${miss.toFixed(0)} µs per call`);
console.log(`Chat served from the cache: ${hit.toFixed(0)} µs per call`);
console.log(`StreamChat replayed from the cache: ${streamHit.toFixed(0)} µs per call`);
await server.close(1000);

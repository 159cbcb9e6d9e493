/**
 * Issue 12's pool-side rows, measured:
 *  1. `--streams` gRPC streams at once against a slow fake upstream (first byte after
 *     `--delay-ms`) behind a small `connections` pool: how many fail with "no answer within
 *     timeout_ms", whether the breaker opened, the deepest queue seen.
 *  2. 60 calls held by a 429 cool-down (in-memory provider, fake clock, rpm 600): upstream calls
 *     once it lifts, the most in one millisecond, the smallest gap.
 *
 *   node --import tsx bench/pool-safety.ts [--streams 2000] [--connections 50] [--delay-ms 200] [--timeout-ms 2000]
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { create } from "@bufbuild/protobuf";
import { createClient, ConnectError } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ChatRequestSchema, LLMPool, ProviderState } from "../gen/llmpool/v1/llmpool_pb.js";
import { validateConfig } from "../src/config/load.js";
import { ProviderError } from "../src/core/errors.js";
import { Pool } from "../src/pool/pool.js";
import { createLlmpoolServer } from "../src/server/server.js";
import { createFakeClock } from "../src/util/clock.js";
import { createLogger } from "../src/util/logger.js";

const { values } = parseArgs({
  options: {
    streams: { type: "string", default: "2000" },
    connections: { type: "string", default: "50" },
    "delay-ms": { type: "string", default: "200" },
    "timeout-ms": { type: "string", default: "2000" },
  },
});
const STREAMS = Number(values.streams);
const CONNECTIONS = Number(values.connections);
const DELAY = Number(values["delay-ms"]);
const TIMEOUT = Number(values["timeout-ms"]);

// --- 1. streams beyond the connection pool ---------------------------------------------------
const sse =
  `data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"hello "},"finish_reason":null}]}\n\n` +
  `data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"world"},"finish_reason":"stop"}]}\n\n` +
  "data: [DONE]\n\n";
const upstream = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  req.resume();
  req.on("end", () => {
    if (!req.url!.endsWith("/chat/completions")) {
      res.setHeader("content-type", "application/json");
      res.end('{"object":"list","data":[{"id":"m","object":"model"}]}');
      return;
    }
    setTimeout(() => {
      res.setHeader("content-type", "text/event-stream");
      res.end(sse);
    }, DELAY);
  });
});
await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
const up = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
const loaded = validateConfig(
  {
    log: { level: "silent" },
    cost: { ledger: { path: ":memory:" } },
    pool: { queue: { max_size: STREAMS * 2, timeout_ms: 120_000 }, warmup: { enabled: false } },
    providers: [{ name: "slow", type: "openai", base_url: up, api_key: "sk-bench-0123456789", models: ["m"], connections: CONNECTIONS, timeout_ms: TIMEOUT }],
  },
  "bench",
  {},
);
const server = await createLlmpoolServer({ loaded, logger: createLogger("silent"), processMetrics: false });
const { port } = await server.listen(0, "127.0.0.1");
const client = createClient(LLMPool, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
let maxDepth = 0;
let polling = true;
const poll = (async () => {
  while (polling) {
    const s = await client.getPoolStats({}).catch(() => undefined);
    maxDepth = Math.max(maxDepth, s?.totals?.queueDepth ?? 0);
    await new Promise((r) => setTimeout(r, 20));
  }
})();
const started = Date.now();
const errors = new Map<string, number>();
let ok = 0;
await Promise.all(
  Array.from({ length: STREAMS }, async (_, i) => {
    try {
      for await (const _c of client.streamChat({ model: "m", messages: [{ role: "user", content: `q${i}` }] }));
      ok++;
    } catch (err) {
      const m = ConnectError.from(err).rawMessage.includes("no answer within timeout_ms") ? "timeout_ms" : ConnectError.from(err).rawMessage.slice(0, 60);
      errors.set(m, (errors.get(m) ?? 0) + 1);
    }
  }),
);
const wall = Date.now() - started;
polling = false;
await poll;
const stats = await client.getPoolStats({});
const p = stats.providers[0]!;
console.log(`streams=${STREAMS} connections=${CONNECTIONS} delay_ms=${DELAY} timeout_ms=${TIMEOUT}`);
console.log(`  ok=${ok} failed=${STREAMS - ok} ${JSON.stringify(Object.fromEntries(errors))}`);
console.log(`  breaker/state=${ProviderState[p.state]} provider failures=${p.failures} max queue_depth=${maxDepth} wall=${wall} ms`);
await server.close(1000);
upstream.close();

// --- 2. the herd after a 429 cool-down ------------------------------------------------------
const clock = createFakeClock();
const calls: number[] = [];
let seed = 7;
const pool = new Pool(
  validateConfig(
    {
      pool: { retry_backoff_ms: { initial: 0, max: 0 }, max_retries: 0, warmup: { enabled: false } },
      providers: [{ name: "a", type: "mock", models: ["m"], rpm: 600, health_check: { enabled: false } }],
    },
    "bench",
    {},
  ),
  {
    clock,
    random: () => (seed = (seed * 16807) % 2147483647) / 2147483647,
    createProvider: (cfg) => ({
      name: cfg.name,
      type: "mock",
      capabilities: { vision: false, tools: false, contextWindow: 0 },
      async chat() {
        calls.push(clock.now());
        if (calls.length === 1) throw new ProviderError({ provider: "a", kind: "rate_limited", status: 429, message: "slow down", retryAfterMs: 1000 });
        return { id: "1", model: "m", content: "ok", toolCalls: [], finishReason: "stop" as const, rawFinishReason: "stop" };
      },
      async *stream() {},
      async close() {},
    }),
  },
);
const req = create(ChatRequestSchema, { model: "m", messages: [{ role: "user", content: "hi" }] });
const ctx = (id: string) => ({ signal: new AbortController().signal, requestId: id });
await pool.chat(req, ctx("first")).catch(() => undefined);
const herd = Array.from({ length: 60 }, (_, i) => pool.chat(req, ctx(`r${i}`)).then(() => "ok", () => "refused"));
const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};
for (let t = 0; t < 15_000; t++) {
  clock.advance(1);
  await flush();
}
const outcomes = await Promise.all(herd);
const after = calls.slice(1);
const perMs = new Map<number, number>();
for (const t of after) perMs.set(t, (perMs.get(t) ?? 0) + 1);
const gaps = after.slice(1).map((t, i) => t - after[i]!);
console.log(`herd: 60 calls held by a 1 s cool-down (rpm 600)`);
console.log(
  `  upstream calls after it=${after.length} answered=${outcomes.filter((o) => o === "ok").length} most in one ms=${Math.max(...perMs.values())} smallest gap=${gaps.length ? Math.min(...gaps) : "-"} ms span=${after.length ? after.at(-1)! - after[0]! : 0} ms`,
);
await pool.close();

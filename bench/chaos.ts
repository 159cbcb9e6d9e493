/**
 * Chaos: a steady mixed load through llmpool while upstreams are killed and revived on a
 * schedule.
 *
 *   node --import tsx bench/chaos.ts [--duration 30] [--concurrency 16] [--stream-share 0.25]
 *
 * Three fake OpenAI-compatible upstreams (test/helpers/fake-openai.ts: 20 ms to answer,
 * streams of 8 chunks 5 ms apart) behind one llmpool (round robin, breakers with a 2 s reset,
 * outlier ejection from 2 s, health checks every 5 s). Schedule, as shares of the run: kill a
 * at 15%, revive a at 40%, kill b at 50%, kill c at 60% (only a is left), revive b at 75%,
 * revive c at 85%. Reports calls sent and failed (unary and streams), latency, and for each
 * event how fast traffic left the dead provider (kill -> out of rotation; calls it still got
 * while dead, breaker trials included) and came back to a revived one (revive -> first
 * successful call).
 */
import { parseArgs } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { LLMPool } from "../gen/llmpool/v1/llmpool_pb.js";
import { validateConfig } from "../src/config/load.js";
import type { Endpoint } from "../src/pool/endpoint.js";
import type { CallOutcome } from "../src/core/outcome.js";
import type { PoolObserver } from "../src/pool/observer.js";
import type { RequestRecord } from "../src/core/outcome.js";
import { createLlmpoolServer } from "../src/server/server.js";
import { createLogger } from "../src/util/logger.js";
import { startFakeOpenAI, type FakeUpstream } from "../test/helpers/fake-openai.js";

const { values } = parseArgs({
  options: { duration: { type: "string", default: "30" }, concurrency: { type: "string", default: "16" }, "stream-share": { type: "string", default: "0.25" } },
});
const DURATION_MS = Number(values.duration) * 1000;
const CONCURRENCY = Number(values.concurrency);
const STREAM_SHARE = Number(values["stream-share"]);

const names = ["a", "b", "c"];
const ups: FakeUpstream[] = await Promise.all(names.map((n) => startFakeOpenAI(n)));
const CHUNKS = ["The ", "quick ", "brown ", "fox ", "jumps ", "over ", "the ", "dog."];
for (const u of ups) u.behave({ delayMs: 20, chunks: CHUNKS, chunkDelayMs: 5 });

const t0 = performance.now();
const now = () => performance.now() - t0;
/** Per provider: start times of calls, and end times of successful ones. */
const starts = new Map<string, number[]>(names.map((n) => [n, []]));
const oks = new Map<string, number[]>(names.map((n) => [n, []]));
const observer: PoolObserver = {
  attemptStarted(_r: RequestRecord, e: Endpoint) {
    starts.get(e.name)!.push(now());
  },
  attemptEnded(_r: RequestRecord, e: Endpoint, o: CallOutcome) {
    if (o.ok) oks.get(e.name)!.push(now());
  },
};

const loaded = validateConfig(
  {
    log: { level: "silent" },
    pool: {
      strategy: "round_robin",
      health_check_interval_s: 5,
      health_check: { unhealthy_threshold: 1, timeout_ms: 1000 },
      outlier_detection: { base_ejection_time_ms: 2000, max_ejection_time_ms: 10_000 },
      warmup: { enabled: true },
    },
    providers: ups.map((u) => ({
      name: u.name,
      type: "openai",
      base_url: u.url,
      api_key: "sk-bench-0000000000",
      models: ["gpt-4o-mini"],
      circuit_breaker: { failure_threshold: 3, reset_timeout_ms: 2000 },
    })),
  },
  "chaos",
);
const server = await createLlmpoolServer({ loaded, logger: createLogger("silent"), processMetrics: false, observers: [observer] });
const { port } = await server.listen(0, "127.0.0.1");
const client = createClient(LLMPool, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));

/** Out-of-rotation transitions, sampled every 5 ms. */
const outAt = new Map<string, number[]>(names.map((n) => [n, []]));
const wasIn = new Map<string, boolean>(names.map((n) => [n, true]));
const sampler = setInterval(() => {
  for (const e of server.pool.endpoints) {
    const inRotation = e.healthy;
    if (wasIn.get(e.name) && !inRotation) outAt.get(e.name)!.push(now());
    wasIn.set(e.name, inRotation);
  }
}, 5);

type Event = { at: number; kind: "kill" | "revive"; name: string };
const plan: [number, Event["kind"], string][] = [
  [0.15, "kill", "a"],
  [0.4, "revive", "a"],
  [0.5, "kill", "b"],
  [0.6, "kill", "c"],
  [0.75, "revive", "b"],
  [0.85, "revive", "c"],
];
const events: Event[] = [];
for (const [share, kind, name] of plan) {
  setTimeout(() => {
    const u = ups[names.indexOf(name)]!;
    events.push({ at: now(), kind, name });
    void (kind === "kill" ? u.kill() : u.revive());
  }, share * DURATION_MS);
}

const tally = { unary: 0, unaryFailed: 0, stream: 0, streamFailed: 0, resumed: 0 };
const errors = new Map<string, number>();
const latencies: number[] = [];
const stopAt = performance.now() + DURATION_MS;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < stopAt) {
      const streaming = Math.random() < STREAM_SHARE;
      const started = performance.now();
      try {
        if (streaming) {
          tally.stream++;
          let text = "";
          for await (const c of client.streamChat({ messages: [{ role: "user", content: "go" }] })) {
            text += c.delta;
            if (c.failover) tally.resumed++;
          }
          if (text !== CHUNKS.join("")) throw new Error(`stream text differs: ${JSON.stringify(text)}`);
        } else {
          tally.unary++;
          await client.chat({ messages: [{ role: "user", content: "go" }] });
        }
        latencies.push(performance.now() - started);
      } catch (err) {
        if (streaming) tally.streamFailed++;
        else tally.unaryFailed++;
        const msg = String((err as Error).message).slice(0, 120);
        errors.set(msg, (errors.get(msg) ?? 0) + 1);
      }
    }
  }),
);
clearInterval(sampler);

const pct = (p: number) => {
  const s = [...latencies].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};
console.log(`duration ${DURATION_MS / 1000} s, concurrency ${CONCURRENCY}, streams ${Math.round(STREAM_SHARE * 100)}%\n`);
console.log("| calls | unary sent | unary failed | streams sent | streams failed | streams resumed mid-answer | p50 ms | p99 ms |");
console.log("|---:|---:|---:|---:|---:|---:|---:|---:|");
console.log(
  `| ${tally.unary + tally.stream} | ${tally.unary} | ${tally.unaryFailed} | ${tally.stream} | ${tally.streamFailed} | ${tally.resumed} | ${pct(50).toFixed(1)} | ${pct(99).toFixed(1)} |`,
);
console.log("\n| event | at s | traffic left after ms | calls it got while dead | traffic back after ms |");
console.log("|---|---:|---:|---:|---:|");
for (const ev of events) {
  if (ev.kind === "kill") {
    const revive = events.find((x) => x.kind === "revive" && x.name === ev.name && x.at > ev.at)?.at ?? Infinity;
    const out = outAt.get(ev.name)!.find((t) => t >= ev.at);
    const whileDead = starts.get(ev.name)!.filter((t) => t >= ev.at && t < revive).length;
    console.log(`| kill ${ev.name} | ${(ev.at / 1000).toFixed(1)} | ${out === undefined ? "never" : (out - ev.at).toFixed(0)} | ${whileDead} | |`);
  } else {
    const back = oks.get(ev.name)!.find((t) => t >= ev.at);
    console.log(`| revive ${ev.name} | ${(ev.at / 1000).toFixed(1)} | | | ${back === undefined ? "not within the run" : (back - ev.at).toFixed(0)} |`);
  }
}
if (errors.size > 0) {
  console.log("\nerrors:");
  for (const [m, n] of errors) console.log(`  ${n} x ${m}`);
}
await server.close(2000);
await Promise.all(ups.map((u) => u.close()));

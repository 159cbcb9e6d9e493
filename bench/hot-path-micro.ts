/**
 * Per-call cost of two request-path pieces, before and after their optimisation, measured in
 * one process with no network (steadier than end-to-end figures on a shared machine: the best
 * of several runs is reported, as contention only ever adds time):
 *
 * - metrics: the counters and histograms one request updates, with prom-client label objects
 *   (`inc({ provider, status })`, as src/metrics/metrics.ts does) against children bound once
 *   per label combination (`createChildren` below);
 * - the per-request log line: pino writing each line as it is logged (its default destination,
 *   as src/util/logger.ts uses) against lines batched per event-loop turn (`batched` below).
 *
 * Both candidates measured no gain (bench/RESULTS.md, issue 13), so neither is in src/: they stay
 * here so the finding can be rerun.
 *
 *   npx tsx bench/hot-path-micro.ts [--calls 50000] [--runs 5]
 */
import { openSync } from "node:fs";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { Counter, Histogram, Registry } from "prom-client";
import { createLogger } from "../src/util/logger.js";

const { values } = parseArgs({ options: { calls: { type: "string", default: "50000" }, runs: { type: "string", default: "5" } } });
const CALLS = Number(values.calls);
const RUNS = Number(values.runs);

/** The candidate: prom-client children found in nested maps, created on first use. */
function createChildren<C>(metric: { labels(...values: string[]): C }): (...values: string[]) => C {
  const root = new Map<string, unknown>();
  return (...values: string[]): C => {
    let level = root;
    for (let i = 0; i < values.length - 1; i++) {
      let next = level.get(values[i]!) as Map<string, unknown> | undefined;
      if (!next) level.set(values[i]!, (next = new Map()));
      level = next;
    }
    const key = values[values.length - 1]!;
    let child = level.get(key) as C | undefined;
    if (child === undefined) level.set(key, (child = metric.labels(...values)));
    return child;
  };
}

/** The candidate: log lines collected per turn and written together from a setImmediate. */
function batchedDestination(fd: number) {
  const out = pino.destination({ dest: fd, sync: false, minLength: 0 });
  let pending = "";
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const text = pending;
    pending = "";
    if (text) out.write(text);
  };
  return {
    write(line: string) {
      pending += line;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
  };
}

/** Best-of-runs CPU µs per call (process.cpuUsage: every thread, so async writes count too). */
async function measure(fn: (i: number) => void, settle?: () => Promise<void>): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < RUNS; r++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < CALLS; i++) {
      fn(i);
      if ((i & 1023) === 1023 && settle) await settle();
    }
    if (settle) await settle();
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / CALLS);
  }
  return best;
}

function metricsSet() {
  const registers = [new Registry()];
  const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
  return {
    upstream: new Counter({ name: "u", help: "h", labelNames: ["provider", "status"], registers }),
    upstreamDuration: new Histogram({ name: "ud", help: "h", labelNames: ["provider"], buckets, registers }),
    tokens: new Counter({ name: "t", help: "h", labelNames: ["provider", "model", "direction"], registers }),
    cost: new Counter({ name: "c", help: "h", labelNames: ["provider", "model"], registers }),
    requests: new Counter({ name: "r", help: "h", labelNames: ["kind", "model", "outcome"], registers }),
    requestDuration: new Histogram({ name: "rd", help: "h", labelNames: ["kind", "model"], buckets, registers }),
  };
}

async function main() {
  const providers = ["openai-a", "openai-b", "anthropic-c", "groq-d"];
  const old = metricsSet();
  const byLabels = await measure((i) => {
    const provider = providers[i & 3]!;
    const model = "gpt-4o-mini";
    old.upstream.inc({ provider, status: "ok" });
    old.upstreamDuration.observe({ provider }, 0.12);
    old.tokens.inc({ provider, model, direction: "prompt" }, 12);
    old.tokens.inc({ provider, model, direction: "completion" }, 30);
    old.cost.inc({ provider, model }, 0.0001);
    old.requests.inc({ kind: "chat", model, outcome: "ok" });
    old.requestDuration.observe({ kind: "chat", model }, 0.13);
  });
  const m = metricsSet();
  const up = createChildren(m.upstream);
  const upD = createChildren(m.upstreamDuration);
  const tok = createChildren(m.tokens);
  const cost = createChildren(m.cost);
  const req = createChildren(m.requests);
  const reqD = createChildren(m.requestDuration);
  const bound = await measure((i) => {
    const provider = providers[i & 3]!;
    const model = "gpt-4o-mini";
    up(provider, "ok").inc();
    upD(provider).observe(0.12);
    tok(provider, model, "prompt").inc(12);
    tok(provider, model, "completion").inc(30);
    cost(provider, model).inc(0.0001);
    req("chat", model, "ok").inc();
    reqD("chat", model).observe(0.13);
  });

  const line = {
    request_id: "4a1f0c3e-8f1b-4b7e-9d55-0a0e3f1c2b7d", kind: "chat", model: "gpt-4o-mini", provider: "openai-a", attempts: 1,
    upstream_calls: 1, latency_ms: 12.3, prompt_tokens: 12, completion_tokens: 30, cost_usd: 0.0001, finish_reason: "stop", outcome: "ok",
  };
  const devnull = openSync("/dev/null", "w");
  const tick = () => new Promise<void>((r) => setImmediate(r));
  const perLine = createLogger("info", pino.destination({ dest: devnull, sync: false, minLength: 0 }));
  const eachLine = await measure(() => perLine.info(line, "request"), tick);
  const batched = createLogger("info", batchedDestination(devnull));
  const batchedLine = await measure(() => batched.info(line, "request"), tick);

  const f = (n: number) => n.toFixed(2);
  console.log(`node ${process.version}, ${CALLS} calls, best of ${RUNS} runs, CPU µs per call\n`);
  console.log("| piece | as in src/ | candidate | saved |\n|---|---:|---:|---:|");
  console.log(`| metrics of one request (7 updates) | ${f(byLabels)} | ${f(bound)} | ${f(byLabels - bound)} |`);
  console.log(`| request log line (pino → /dev/null) | ${f(eachLine)} | ${f(batchedLine)} | ${f(eachLine - batchedLine)} |`);
  process.exit(0);
}

void main();

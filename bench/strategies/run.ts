/**
 * Strategy benchmark: every strategy on the same simulated load against the same simulated
 * upstreams, beside an oracle. The real Pool (planning, retries, fallback, racing) and the
 * real strategies run on a virtual clock (virtual-clock.ts), so the figures do not depend on
 * how busy the machine is and a run is repeatable from its seed.
 *
 *   npx tsx bench/strategies/run.ts [--scenario NAME] [--seeds 1,2,3,4,5] [--duration-s S]
 *                                   [--only LABEL] [--json FILE]
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { create } from "@bufbuild/protobuf";
import { ChatRequestSchema } from "../../gen/llmpool/v1/llmpool_pb.js";
import type { Strategy } from "../../src/balancer/strategy.js";
import { validateConfig } from "../../src/config/load.js";
import { Pool } from "../../src/pool/pool.js";
import type { Provider } from "../../src/core/provider.js";
import { createOracle } from "./oracle.js";
import { SCENARIOS, type Scenario, type StrategyRun } from "./scenarios.js";
import { seeded, SimUpstream } from "./upstream.js";
import { runToEnd, VirtualClock } from "./virtual-clock.js";

export interface RunResult {
  scenario: string;
  label: string;
  requests: number;
  p50: number;
  p99: number;
  errorRate: number;
  callsPerRequest: number;
  costPer1k: number;
  /** Share of upstream calls per upstream. */
  share: Record<string, number>;
  /** With `trace`: every successful request's start, latency and provider. */
  samples?: { at: number; ms: number; provider: string; calls: number }[];
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export async function runOne(scn: Scenario, run: StrategyRun, seed: number, durationMs = scn.durationMs, trace = false): Promise<RunResult> {
  const clock = new VirtualClock();
  const loaded = validateConfig(
    {
      log: { level: "silent" },
      pool: {
        strategy: run.strategy === "oracle" ? "round_robin" : run.strategy,
        strategy_options: run.options ?? {},
        max_retries: 2,
        retry_backoff_ms: { initial: 20, max: 200 },
      },
      providers: scn.upstreams.map((u) => ({
        name: u.name,
        type: "mock",
        models: ["m"],
        weight: u.weight ?? 1,
        priority: u.priority ?? 1,
        timeout_ms: 30_000,
        // The upstream's real concurrency: the pool passes over a saturated endpoint, as an
        // operator who knows the limit would configure it.
        max_concurrency: u.capacity,
        pricing: { input_per_1m: u.price[0], output_per_1m: u.price[1] },
      })),
    },
    "bench",
    {},
  );
  const pool = new Pool(loaded, { clock, random: seeded(seed * 7 + 1) });
  const sims = new Map<string, SimUpstream>();
  scn.upstreams.forEach((spec, i) => {
    const sim = new SimUpstream(spec, clock, seeded(seed * 31 + i));
    sims.set(spec.name, sim);
    // Bench only: swap the mock adapter for the simulated upstream.
    (pool.endpoint(spec.name) as unknown as { provider: Provider }).provider = sim;
  });
  if (run.strategy === "oracle") {
    // Bench only: the oracle is not a registered strategy (it reads the simulation's truth).
    (pool as unknown as { gen: { strategies: Map<string, Strategy> } }).gen.strategies.set("round_robin", createOracle(sims));
  }

  const req = create(ChatRequestSchema, { model: "m", messages: [{ role: "user", content: "Summarise the attached report." }], maxTokens: 200 });
  const arrivals = seeded(seed);
  const latencies: number[] = [];
  let errors = 0;
  let requests = 0;
  let cost = 0;
  const samples: RunResult["samples"] = trace ? [] : undefined;
  for (let t = 0; ; ) {
    t += (-Math.log(Math.max(arrivals(), 1e-12)) / scn.rate) * 1000;
    if (t >= durationMs) break;
    requests++;
    const id = `r${requests}`;
    clock.setTimeout(() => {
      const started = clock.now();
      pool.chat(req, { signal: new AbortController().signal, requestId: id }).then(
        (out) => {
          latencies.push(clock.now() - started);
          cost += out.costUsd;
          samples?.push({ at: started, ms: clock.now() - started, provider: out.provider, calls: out.upstreamCalls });
        },
        () => void errors++,
      );
    }, t);
  }
  await runToEnd(clock);
  latencies.sort((a, b) => a - b);
  const calls = [...sims.values()].reduce((s, u) => s + u.calls, 0);
  return {
    scenario: scn.name,
    label: run.label,
    requests,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errorRate: errors / requests,
    callsPerRequest: calls / requests,
    costPer1k: (cost / Math.max(1, latencies.length)) * 1000,
    share: Object.fromEntries([...sims].map(([n, u]) => [n, u.calls / Math.max(1, calls)])),
    samples,
  };
}

export function table(results: RunResult[]): string {
  const lines = [
    "| strategy | p50 ms | p99 ms | errors | upstream calls / request | USD / 1k requests | share of calls |",
    "|---|---:|---:|---:|---:|---:|---|",
  ];
  for (const r of results) {
    const share = Object.entries(r.share)
      .map(([n, s]) => `${n} ${Math.round(s * 100)}%`)
      .join(", ");
    lines.push(
      `| ${r.label} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${(r.errorRate * 100).toFixed(2)}% | ${r.callsPerRequest.toFixed(3)} | ${r.costPer1k.toFixed(3)} | ${share} |`,
    );
  }
  return lines.join("\n");
}

/** Mean of each figure over runs of the same strategy with different seeds. */
export function average(runs: RunResult[]): RunResult {
  const mean = (f: (r: RunResult) => number) => runs.reduce((s, r) => s + f(r), 0) / runs.length;
  const share: Record<string, number> = {};
  for (const name of Object.keys(runs[0]!.share)) share[name] = mean((r) => r.share[name] ?? 0);
  return {
    scenario: runs[0]!.scenario,
    label: runs[0]!.label,
    requests: mean((r) => r.requests),
    p50: mean((r) => r.p50),
    p99: mean((r) => r.p99),
    errorRate: mean((r) => r.errorRate),
    callsPerRequest: mean((r) => r.callsPerRequest),
    costPer1k: mean((r) => r.costPer1k),
    share,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scenario: { type: "string" },
      seeds: { type: "string", default: "1,2,3,4,5" },
      "duration-s": { type: "string" },
      json: { type: "string" },
      only: { type: "string" },
    },
  });
  const seeds = values.seeds!.split(",").map(Number);
  const all: RunResult[] = [];
  for (const scn of SCENARIOS.filter((s) => !values.scenario || s.name === values.scenario)) {
    const duration = values["duration-s"] ? Number(values["duration-s"]) * 1000 : scn.durationMs;
    console.log(`\n### ${scn.name}\n\n${scn.description}; mean of ${seeds.length} runs (seeds ${seeds.join(", ")}).\n`);
    const results: RunResult[] = [];
    for (const run of scn.runs.filter((r) => !values.only || r.label.includes(values.only))) {
      const started = performance.now();
      const runs: RunResult[] = [];
      for (const seed of seeds) runs.push(await runOne(scn, run, seed, duration));
      results.push(average(runs));
      process.stderr.write(`  ${scn.name} / ${run.label}: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    }
    console.log(table(results));
    all.push(...results);
  }
  if (values.json) writeFileSync(values.json, JSON.stringify(all, null, 2));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

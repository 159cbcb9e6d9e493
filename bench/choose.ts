/**
 * The pool's per-attempt choice (Pool.choose: health, fit and gates of every route, then the
 * strategy) in one process, with no network, as the pool grows: the part of a request's cost
 * that depends on how many providers serve its model (bench/RESULTS.md "Pool size"). The best
 * of several runs is reported, as contention only ever adds time.
 *
 *   npx tsx bench/choose.ts [--providers 2,10,50] [--strategy round_robin,priority] [--calls 200000] [--runs 7]
 *
 * With `priority`, the first two providers are the top tier, as in `bench/profile.ts --strategy priority`.
 */
import { parseArgs } from "node:util";
import { create } from "@bufbuild/protobuf";
import { ChatRequestSchema } from "../gen/llmpool/v1/llmpool_pb.js";
import { validateConfig } from "../src/config/load.js";
import { Pool } from "../src/pool/pool.js";

const { values } = parseArgs({
  options: {
    providers: { type: "string", default: "2,10,50" },
    strategy: { type: "string", default: "round_robin,priority" },
    calls: { type: "string", default: "200000" },
    runs: { type: "string", default: "7" },
  },
});
const CALLS = Number(values.calls);
const RUNS = Number(values.runs);

async function measure(n: number, strategy: string): Promise<number> {
  const providers = Array.from({ length: n }, (_, i) => ({
    name: `p${i}`,
    type: "openai",
    api_key: "sk-bench-not-a-secret",
    // Never called: choose() makes no request.
    base_url: "http://127.0.0.1:9/v1",
    models: ["m"],
    priority: i < 2 ? 0 : 1,
  }));
  const pool = new Pool(validateConfig({ pool: { strategy, warmup: { enabled: false } }, providers }, "bench/choose.ts", {}));
  const req = create(ChatRequestSchema, { model: "m", messages: [{ role: "user", content: "hi" }] });
  // plan() is the pool's own first step of a request; private, so reached by name here.
  const plan = pool["plan"](req, { signal: new AbortController().signal, requestId: "bench" }, "chat");
  let best = Infinity;
  for (let run = 0; run < RUNS; run++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) if (!pool.choose(plan)) throw new Error("choose found no route");
    best = Math.min(best, Number(process.hrtime.bigint() - t) / CALLS);
  }
  await pool.close();
  return best;
}

console.log("| providers | " + values.strategy.split(",").join(" | ") + " |");
console.log("|---:|" + values.strategy.split(",").map(() => "---:|").join(""));
for (const n of values.providers.split(",").map(Number)) {
  const cells: string[] = [];
  for (const s of values.strategy.split(",")) cells.push(`${Math.round(await measure(n, s))} ns`);
  console.log(`| ${n} | ${cells.join(" | ")} |`);
}

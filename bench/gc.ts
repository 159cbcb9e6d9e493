/**
 * GC cost and allocation per call, independent of the machine's speed: a fixed number of
 * Connect JSON calls at 50 connections (autocannon) through llmpool (dist/, defaults, info logs),
 * with V8 flags of your choice, counting garbage collections through PerformanceObserver('gc').
 * Scavenges × semi-space size / calls is the bytes allocated per call; V8's --trace-gc-nvp gives
 * the bytes promoted to the old generation per call and the full GCs that promotion costs.
 *
 *   npm run build && npx tsx bench/gc.ts [--calls 20000] [--connections 50] [--heap-growth 20] [--ledger-writer thread|inline] [-- --max-semi-space-size=8 ...]
 *
 * --heap-growth sets server.heap_growth_percent (0: V8's own growth factor); --ledger-writer sets
 * cost.ledger.writer.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { cpuSeconds, statusKb } from "./proc.js";

const { values, positionals } = parseArgs({
  options: { calls: { type: "string", default: "20000" }, "heap-growth": { type: "string", default: "20" }, connections: { type: "string", default: "50" }, "ledger-writer": { type: "string", default: "thread" } },
  allowPositionals: true,
});
const CALLS = Number(values.calls);
const dir = mkdtempSync(join(tmpdir(), "llmpool-gc-"));
const observer = join(dir, "gc-observer.mjs");
writeFileSync(
  observer,
  `import { PerformanceObserver } from "node:perf_hooks";
import { writeFileSync } from "node:fs";
let n = 0, ms = 0, scavenges = 0;
new PerformanceObserver((l) => { for (const e of l.getEntries()) { n++; ms += e.duration; if (e.detail?.kind === 1) scavenges++; } }).observe({ entryTypes: ["gc"] });
process.on("SIGUSR2", () => { writeFileSync(${JSON.stringify(join(dir, "gc.json"))}, JSON.stringify({ n, scavenges, ms })); n = 0; ms = 0; scavenges = 0; });
`,
);

const up = spawn(process.execPath, ["--import", "tsx", "bench/upstream.ts"], { stdio: ["ignore", "pipe", "inherit"] });
let upPort = 0;
for await (const l of createInterface({ input: up.stdout! })) {
  upPort = Number(l);
  break;
}
const config = join(dir, "llmpool.yaml");
writeFileSync(
  config,
  `server: { heap_growth_percent: ${Number(values["heap-growth"])} }\nlog: { level: info }\ncost: { ledger: { path: ${JSON.stringify(join(dir, "ledger.db"))}, writer: ${values["ledger-writer"]} } }\n` +
    `pool: { strategy: round_robin, max_retries: 0, warmup: { enabled: false } }\n` +
    `providers:\n  - { name: up, type: openai, base_url: "http://127.0.0.1:${upPort}/v1", api_key: sk-bench, models: [bench-model], connections: 256 }\n`,
);
const port = 30000 + Math.floor(Math.random() * 20000);
// --trace-gc-nvp prints one line per GC on stdout: promoted bytes per scavenge and the full
// (mark-compact) collections, which the promotion drives.
const lp = spawn(process.execPath, [`--import=${observer}`, "--trace-gc-nvp", ...positionals, "dist/src/cli.js", "serve", "--config", config, "--port", String(port), "--host", "127.0.0.1"], {
  stdio: ["ignore", "pipe", "inherit"],
});
let measuring = false;
let promoted = 0;
let fullGcs = 0;
createInterface({ input: lp.stdout! }).on("line", (line) => {
  if (!measuring) return;
  if (line.includes(" gc=s ")) promoted += Number(/ promoted=(\d+)/.exec(line)?.[1] ?? 0);
  else if (line.includes(" gc=mc ")) fullGcs++;
});
const stop = () => {
  lp.kill("SIGTERM");
  up.kill("SIGTERM");
};
process.on("exit", stop);
for (let i = 0; i < 100; i++) {
  if (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) break;
  await new Promise((r) => setTimeout(r, 100));
}
const readGc = async (): Promise<{ n: number; scavenges: number; ms: number }> => {
  lp.kill("SIGUSR2");
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 50));
    try {
      return JSON.parse(readFileSync(join(dir, "gc.json"), "utf8"));
    } catch {
      // not written yet
    }
  }
  throw new Error("no GC figures from llmpool");
};
const cpu = () => cpuSeconds(lp.pid!);
const opts = {
  url: `http://127.0.0.1:${port}/llmpool.v1.LLMPool/Chat`,
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "hello" }] }),
  connections: Number(values.connections),
};
await autocannon({ ...opts, duration: 2 }); // warm-up
await readGc();
measuring = true;
const c0 = cpu();
await autocannon({ ...opts, amount: CALLS });
const used = cpu() - c0;
const gc = await readGc();
measuring = false;
const hwm = statusKb(lp.pid!, "VmHWM");
console.log(
 `[heap_growth_percent ${values["heap-growth"]}; ledger writer ${values["ledger-writer"]}; ${positionals.join(" ") || "default flags"}] ${CALLS} calls at ${values.connections}: ${gc.scavenges} scavenges, ${gc.n - gc.scavenges} other GCs, ` +
    `promoted ${(promoted / 1024 / CALLS).toFixed(2)} KB/call, ${fullGcs} full GCs, GC ${((gc.ms * 1000) / CALLS).toFixed(1)} µs/call (wall), CPU ${((used * 1e6) / CALLS).toFixed(0)} µs/call, peak RSS ${(Number(hwm) / 1024).toFixed(0)} MB`,
);
process.exit(0);

/**
 * Where llmpool's CPU goes per call: starts the fake upstream (bench/upstream.ts) and llmpool
 * from dist/ under `--cpu-prof`, drives one protocol at N connections, stops llmpool and prints
 * the profile's self time by function and by package, plus CPU µs per call from /proc.
 *
 *   npm run build && node --import tsx bench/profile.ts [--wire json|proto|stream|grpc]
 *     [--connections 50] [--seconds 10] [--top 40] [--no-prof] [--proxy] [--callers NAME]
 *     [--alloc] [--alloc-sites] [--strace] [--node-flag FLAG ...] [--ledger file|:memory:]
 *     [--heap-growth N] [--providers N] [--composites M] [--strategy NAME]
 *
 * --proxy profiles bench/minimal-proxy.ts instead; --alloc counts KB allocated per call;
 * --strace counts system calls per call. CPU per call is also split by thread (main against
 * V8's GC helper threads and the ledger's worker).
 *
 * --providers N serves the model from N providers (all on the one fake upstream); --composites M
 * serves it from M two-member loadbalance composites over them instead, so every call goes
 * through a composite. Both check that the cost per call stays flat as the pool grows
 * (bench/RESULTS.md "Pool size"). --strategy sets the pool's strategy; with `priority` the first
 * two providers are the top tier.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { ChatRequestSchema } from "../gen/llmpool/v1/llmpool_pb.js";
import { cannon, grpcConcurrent } from "./load.js";
import { cpuSeconds, freePort, statusKb, threadCpuSeconds } from "./proc.js";
import { samplerScript, summarizeHeap, whereOf } from "./heap-sites.js";

const { values } = parseArgs({
  options: {
    wire: { type: "string", default: "json" },
    connections: { type: "string", default: "50" },
    seconds: { type: "string", default: "10" },
    top: { type: "string", default: "40" },
    "no-prof": { type: "boolean", default: false },
    /** Count llmpool's system calls per call with `strace -c -f` (implies --no-prof). */
    strace: { type: "boolean", default: false },
    /** Profile bench/minimal-proxy.ts instead of llmpool (Connect JSON only), for the floor's shape. */
    proxy: { type: "boolean", default: false },
    /**
     * Allocation per call instead of a profile: the young generation pinned at 1 MB semi-spaces,
     * so scavenges x 1 MB over the measured calls is the bytes allocated, a count that does not
     * depend on the machine's speed.
     */
    alloc: { type: "boolean", default: false },
    /** Bytes allocated per call by allocating function (bench/heap-sites.ts), instead of a CPU profile. */
    "alloc-sites": { type: "boolean", default: false },
    /** Also print who calls functions of this name (repeatable), by samples. */
    callers: { type: "string", multiple: true, default: [] },
    "log-level": { type: "string", default: "info" },
    /** Extra node/V8 flags for llmpool (repeatable), e.g. --node-flag=--max-semi-space-size=4. */
    "node-flag": { type: "string", multiple: true, default: [] },
    /** The cost ledger's path: a file (default, written by its thread) or ":memory:". */
    ledger: { type: "string", default: "file" },
    /** server.heap_growth_percent, also given on node's command line (unset: 20, the default). */
    "heap-growth": { type: "string" },
    providers: { type: "string", default: "1" },
    composites: { type: "string", default: "0" },
    strategy: { type: "string", default: "round_robin" },
  },
});
/**
 * `n` providers of the model on the fake upstream (one keeps the name "up"). With `m`
 * composites, every call goes through one: each is a two-member loadbalance composite, and the
 * providers serve only a private alias the pool reaches through the composites.
 */
function providersYaml(upPort: number, n: number, m: number): string[] {
  const names = n === 1 ? ["up"] : Array.from({ length: n }, (_, i) => `up${i}`);
  const models = m > 0 ? '{ "bench@pool": bench-model }' : "[bench-model]";
  return [
    // Strategy priority: the first two providers are the top tier, so the traffic goes to two
    // while every call still considers all n.
    ...names.map((name, i) => `  - { name: ${name}, type: openai, api_key: sk-bench-not-a-secret, models: ${models}, connections: 256, priority: ${i < 2 ? 0 : 1}, base_url: "http://127.0.0.1:${upPort}/v1" }`),
    ...Array.from({ length: m }, (_, i) => `  - { name: lb${i}, type: loadbalance, members: [${names[i % n]}, ${names[(i + 1) % n]}], models: { bench-model: "bench@pool" } }`),
  ];
}

const dir = mkdtempSync(join(tmpdir(), "llmpool-prof-"));
const children: ChildProcess[] = [];
process.on("exit", () => children.forEach((c) => c.kill("SIGKILL")));

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}

/** Self time by function and by package of a .cpuprofile, as shares of all samples. */
function summarize(path: string, top: number): void {
  const prof = JSON.parse(readFileSync(path, "utf8")) as { nodes: ProfileNode[]; samples: number[] };
  const total = prof.samples.length;
  const byFn = new Map<string, number>();
  const byPkg = new Map<string, number>();
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  // Inclusive time of our own functions (src/ and gen/), counted once per sample.
  const incl = new Map<string, number>();
  const hits = new Map<number, number>();
  for (const s of prof.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
  for (const n of prof.nodes) {
    const h = hits.get(n.id) ?? 0;
    if (!h) continue;
    const name = `${n.callFrame.functionName || "(anonymous)"} ${whereOf(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    byFn.set(name, (byFn.get(name) ?? 0) + h);
    const pkg = whereOf(n.callFrame.url).split("/")[0]!.replace(/\.js$/, "");
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + h);
    const seen = new Set<string>();
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      if (!f.url.includes("/dist/src/") && !f.url.includes("/bench/")) continue;
      const key = `${f.functionName || "(anonymous)"} ${whereOf(f.url)}:${f.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      incl.set(key, (incl.get(key) ?? 0) + h);
    }
  }
  const pct = (n: number) => `${((100 * n) / total).toFixed(1)}%`;
  const print = (title: string, m: Map<string, number>, k: number) => {
    console.log(`\n${title}`);
    for (const [name, n] of [...m].sort((a, b) => b[1] - a[1]).slice(0, k)) console.log(`${pct(n).padStart(6)}  ${name}`);
  };
  print("self time by function", byFn, top);
  print("self time by package / file", byPkg, 25);
  print("inclusive time, src/", incl, top);
  for (const want of values.callers as string[]) {
    const paths = new Map<string, number>();
    for (const n of prof.nodes) {
      const h = hits.get(n.id) ?? 0;
      if (!h || n.callFrame.functionName !== want) continue;
      const chain: string[] = [];
      for (let id = parent.get(n.id); id !== undefined && chain.length < 4; id = parent.get(id)) {
        const f = byId.get(id)!.callFrame;
        chain.push(`${f.functionName || "(anon)"} ${whereOf(f.url)}:${f.lineNumber + 1}`);
      }
      const key = chain.join(" < ");
      paths.set(key, (paths.get(key) ?? 0) + h);
    }
    print(`callers of ${want}`, paths, 8);
  }
}

async function main() {
  const upstream = spawn(process.execPath, ["--import", "tsx", "bench/upstream.ts"], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(upstream);
  let upPort = 0;
  for await (const line of createInterface({ input: upstream.stdout! })) {
    upPort = Number(line);
    break;
  }
  const port = await freePort();
  const config = join(dir, "llmpool.yaml");
  // One value for the config and node's command line, so they agree (the config's default is 20).
  const growth = Number(values["heap-growth"] ?? 20);
  writeFileSync(
    config,
    [
      `log: { level: ${values["log-level"]} }`,
      `server: { heap_growth_percent: ${growth} }`,
      `cost: { ledger: { path: ${JSON.stringify(values.ledger === "file" ? join(dir, "ledger.db") : values.ledger)} } }`,
      `pool: { strategy: ${values.strategy}, max_retries: 0, warmup: { enabled: false }, queue: { max_size: 5000 } }`,
      "providers:",
      ...providersYaml(upPort, Number(values.providers), Number(values.composites)),
    ].join("\n"),
  );
  const profDir = join(dir, "prof");
  if (values.strace || values.alloc || values["alloc-sites"]) values["no-prof"] = true;
  // As the Docker image and `npm start` run it; --alloc and --node-flag come later and win.
  // Node 24 takes the old generation's growth only from the command line (src/server/heap-growth.ts).
  const flags = ["--max-semi-space-size=16", `--heap-growing-percent=${growth}`, ...(values["no-prof"] ? [] : ["--cpu-prof", "--cpu-prof-interval=200", `--cpu-prof-dir=${profDir}`])];
  const args = values.proxy
    ? // The proxy has no SIGINT handler of its own; exiting normally writes the profile.
      ["--import", "data:text/javascript,process.on('SIGINT',()=>process.exit(0))", "--import", "tsx", "bench/minimal-proxy.ts", "--upstream", `http://127.0.0.1:${upPort}`, "--port", String(port)]
    : ["dist/src/cli.js", "serve", "--config", config, "--port", String(port), "--host", "127.0.0.1"];
  if (values.alloc) {
    // Counts scavenges from the start of the measured burst (SIGUSR2) and prints them at exit.
    const counter = join(dir, "gc-count.mjs");
    writeFileSync(
      counter,
      [
        'import { PerformanceObserver } from "node:perf_hooks";',
        "let n = 0, on = false;",
        'new PerformanceObserver((l) => { if (on) for (const e of l.getEntries()) if (e.detail?.kind === 1) n++; }).observe({ entryTypes: ["gc"] });',
        'process.on("SIGUSR2", () => { on = true; n = 0; });',
        'process.on("exit", () => process.stderr.write(`scavenges ${n}\\n`));',
      ].join("\n"),
    );
    flags.push("--min-semi-space-size=1", "--max-semi-space-size=1", "--import", counter);
  }
  const heapOut = join(dir, "alloc.heapprofile");
  if (values["alloc-sites"]) {
    const sampler = join(dir, "heap-sampler.mjs");
    writeFileSync(sampler, samplerScript(heapOut));
    flags.push("--import", sampler);
  }
  flags.push(...(values["node-flag"] as string[]));
  const lp = spawn(process.execPath, [...flags, ...args], { stdio: ["ignore", "ignore", values.alloc ? "pipe" : "inherit"] });
  let scavenges = NaN;
  if (values.alloc) {
    createInterface({ input: lp.stderr! }).on("line", (l) => {
      const m = /^scavenges (\d+)$/.exec(l);
      if (m) scavenges = Number(m[1]);
      else process.stderr.write(`${l}\n`);
    });
  }
  children.push(lp);
  const ready = values.proxy ? `http://127.0.0.1:${port}/v1/chat/completions` : `http://127.0.0.1:${port}/readyz`;
  for (let i = 0; ; i++) {
    if (await fetch(ready, values.proxy ? { method: "POST", body: "{}" } : {}).then((r) => r.ok, () => false)) break;
    if (i > 200) throw new Error("llmpool did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  const init = { model: "bench-model", messages: [{ role: "user", content: "hello" }] };
  const json = Buffer.from(JSON.stringify(init));
  const bin = Buffer.from(toBinary(ChatRequestSchema, create(ChatRequestSchema, init)));
  const env = (b: Buffer) => {
    const e = Buffer.alloc(5 + b.length);
    e.writeUInt32BE(b.length, 1);
    b.copy(e, 5);
    return e;
  };
  const url = (m: string) => `http://127.0.0.1:${port}/llmpool.v1.LLMPool/${m}`;
  const conns = Number(values.connections);
  const seconds = Number(values.seconds);
  const run = async (s: number) => {
    switch (values.wire) {
      case "grpc":
        return grpcConcurrent(`127.0.0.1:${port}`, bin, conns, s);
      case "stream":
        return cannon({ name: "llmpool", url: url("StreamChat"), headers: { "content-type": "application/connect+json" }, body: env(json) }, conns, s);
      case "proto":
        return cannon({ name: "llmpool", url: url("Chat"), headers: { "content-type": "application/proto" }, body: bin }, conns, s);
      default:
        if (values.proxy) return cannon({ name: "proxy", url: `http://127.0.0.1:${port}/v1/chat/completions`, headers: { "content-type": "application/json" }, body: json }, conns, s);
        return cannon({ name: "llmpool", url: url("Chat"), headers: { "content-type": "application/json" }, body: json }, conns, s);
    }
  };
  await run(2); // JIT warm-up
  const straceOut = join(dir, "strace.txt");
  const tracer = values.strace ? spawn("strace", ["-c", "-f", "-o", straceOut, "-p", String(lp.pid)], { stdio: "ignore" }) : undefined;
  if (tracer) await new Promise((r) => setTimeout(r, 500));
  if (values.alloc || values["alloc-sites"]) {
    lp.kill("SIGUSR2");
    await new Promise((r) => setTimeout(r, 100));
  }
  const idleKb = statusKb(lp.pid!, "VmRSS");
  const c0 = cpuSeconds(lp.pid!);
  const t0 = threadCpuSeconds(lp.pid!);
  const r = await run(seconds);
  const used = cpuSeconds(lp.pid!) - c0;
  const t1 = threadCpuSeconds(lp.pid!);
  console.log(`${values.wire} at ${conns}: ${Math.round(r.rps)} req/s, ${r.errors} errors, CPU ${((used * 1e6) / r.requests).toFixed(0)} µs per call`);
  const perThread = [...t1].map(([name, s]) => [name, ((s - (t0.get(name) ?? 0)) * 1e6) / r.requests] as const).filter(([, us]) => us >= 1);
  console.log(`  by thread: ${perThread.sort((a, b) => b[1] - a[1]).map(([n, us]) => `${n} ${us.toFixed(0)} µs`).join(", ")}`);
  console.log(`RSS: ${(idleKb / 1024).toFixed(1)} MB after warm-up, peak ${(statusKb(lp.pid!, "VmHWM") / 1024).toFixed(1)} MB`);
  if (tracer) {
    await new Promise<void>((resolve) => {
      tracer.once("exit", () => resolve());
      tracer.kill("SIGINT");
    });
    console.log(`\nsystem calls per call (strace -c -f, ${r.requests} calls; strace slows the process, so read counts, not times)`);
    for (const line of readFileSync(straceOut, "utf8").split("\n")) {
      const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$/.exec(line);
      if (m && Number(m[1]) / r.requests >= 0.05) console.log(`${(Number(m[1]) / r.requests).toFixed(2).padStart(7)}  ${m[2]}`);
    }
  }
  await new Promise<void>((resolve) => {
    lp.once("exit", () => resolve());
    lp.kill("SIGINT");
  });
  if (values.alloc) {
    await new Promise((r) => setTimeout(r, 100));
    console.log(`${scavenges} scavenges of 1 MB over ${r.requests} calls: ~${((scavenges * 1024) / r.requests).toFixed(1)} KB allocated per call`);
  }
  if (values["alloc-sites"]) summarizeHeap(heapOut, r.requests, Number(values.top), values.callers as string[]);
  if (values["no-prof"]) return;
  const file = readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error("no profile written");
  console.log(`profile: ${join(profDir, file)}`);
  summarize(join(profDir, file), Number(values.top));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

/**
 * Gateway overhead, measured as users measure it: one fake OpenAI upstream (bench/upstream.ts)
 * called directly, through the minimal Node proxy (bench/minimal-proxy.ts: the floor for any
 * Node gateway), through llmpool (defaults: metrics, ledger, logs at info, dashboard), and
 * optionally through a peer gateway, all in one run with bursts interleaved A B A B so the
 * shared machine's load falls on every side alike.
 *
 *   npm run bench:overhead -- [--rounds 3] [--burst 2] [--connections 50] [--peer URL]
 *     [--log-level info] [--streams 1000] [--no-c-clients] [--no-build]
 *
 * Prints, for Connect JSON, Connect binary, gRPC and streaming: added p50 and p99 one call at a
 * time (Node http keep-alive client; grpc-js for gRPC), req/s at N connections (autocannon;
 * grpc-js with N calls in flight) as a ratio to the direct call and to the minimal proxy,
 * llmpool's CPU per call (/proc), idle and peak RSS, memory per open stream; and, where
 * installed, the added p50 seen by curl, wrk and h2load. Writes bench/overhead-latency.svg.
 *
 * --peer URL: an OpenAI-compatible gateway forwarding to the upstream URL printed at start
 * (e.g. Portkey: `npx @portkey-ai/gateway`, with x-portkey-custom-host headers set by
 * --peer-header 'name: value', repeatable).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs, promisify } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { ChatRequestSchema } from "../gen/llmpool/v1/llmpool_pb.js";
import { cannon, firstByte, grpcConcurrent, grpcSequential, percentile, sequential, type Target, type Throughput } from "./load.js";
import { latencySvg } from "./svg-plot.js";
import { cClients } from "./c-clients.js";
import { cpuSeconds, freePort, statusKb } from "./proc.js";

const exec = promisify(execFile);
const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    burst: { type: "string", default: "2" },
    connections: { type: "string", default: "50" },
    "log-level": { type: "string", default: "info" },
    streams: { type: "string", default: "1000" },
    peer: { type: "string" },
    "peer-header": { type: "string", multiple: true, default: [] },
    "no-c-clients": { type: "boolean", default: false },
    /** Skip `npm run build` (llmpool runs from dist/ as shipped: no tsx loader thread in its RSS). */
    "no-build": { type: "boolean", default: false },
    svg: { type: "string", default: "bench/overhead-latency.svg" },
  },
});
const ROUNDS = Number(values.rounds);
const BURST = Number(values.burst);
const CONNS = Number(values.connections);
const dir = mkdtempSync(join(tmpdir(), "llmpool-bench-"));
const children: ChildProcess[] = [];
process.on("exit", () => children.forEach((c) => c.kill("SIGTERM")));

async function startPrintingPort(args: string[]): Promise<{ port: number; pid: number }> {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  for await (const line of createInterface({ input: child.stdout! })) return { port: Number(line), pid: child.pid! };
  throw new Error(`${args.join(" ")} did not start`);
}

async function startLlmpool(upstreamPort: number): Promise<{ port: number; pid: number }> {
  const port = await freePort();
  const config = join(dir, `llmpool-${port}.yaml`);
  writeFileSync(
    config,
    [
      `log: { level: ${values["log-level"]} }`,
      `cost: { ledger: { path: ${JSON.stringify(join(dir, "ledger.db"))} } }`,
      "pool: { strategy: round_robin, max_retries: 0, warmup: { enabled: false }, queue: { max_size: 5000 } }",
      "providers:",
      "  - name: up",
      "    type: openai",
      `    base_url: http://127.0.0.1:${upstreamPort}/v1`,
      "    api_key: sk-bench-not-a-secret",
      "    models: [bench-model]",
      "    connections: 256",
      "  - name: held", // streams that stay open, for memory per stream
      "    type: openai",
      `    base_url: http://127.0.0.1:${upstreamPort}/hold/v1`,
      "    api_key: sk-bench-not-a-secret",
      "    models: [held-model]",
      `    connections: ${Number(values.streams) + 50}`,
      "    timeout_ms: 600000",
    ].join("\n"),
  );
  // As the Docker image and `npm start` run it (README "Performance").
  const child = spawn(process.execPath, ["--max-semi-space-size=16", "--heap-growing-percent=20", "dist/src/cli.js", "serve", "--config", config, "--port", String(port), "--host", "127.0.0.1"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(child);
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
    if (ok) return { port, pid: child.pid! };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("llmpool did not start");
}


const f = (n: number | undefined, d = 2) => (n !== undefined && Number.isFinite(n) ? n.toFixed(d) : "-");

interface Column {
  target: Target;
  lat: number[];
  rps: number[];
  errors: number;
}

async function main() {
  if (!values["no-build"]) await exec("npm", ["run", "--silent", "build"]);
  const up = await startPrintingPort(["--import", "tsx", "bench/upstream.ts"]);
  const upUrl = `http://127.0.0.1:${up.port}`;
  const mp = await startPrintingPort(["--import", "tsx", "bench/minimal-proxy.ts", "--upstream", upUrl]);
  const lp = await startLlmpool(up.port);
  console.log(`upstream ${upUrl}  minimal proxy :${mp.port}  llmpool :${lp.port}  node ${process.version}`);
  await new Promise((r) => setTimeout(r, 1000)); // let start-up garbage go before reading "idle"
  const idleRssKb = statusKb(lp.pid, "VmRSS");
  // Start-up grows the young generation to its cap; V8's memory reducer gives it back once the
  // process has been idle ~8 s after its first try (~16 s from start), so "settled" waits for it.
  await new Promise((r) => setTimeout(r, 17_000));
  const settledRssKb = statusKb(lp.pid, "VmRSS");

  const openaiBody = Buffer.from(JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "hello" }] }));
  const openaiStream = Buffer.from(JSON.stringify({ model: "bench-model", stream: true, messages: [{ role: "user", content: "hello" }] }));
  const chatInit = { model: "bench-model", messages: [{ role: "user", content: "hello" }] };
  const chatJson = Buffer.from(JSON.stringify(chatInit));
  const chatBin = Buffer.from(toBinary(ChatRequestSchema, create(ChatRequestSchema, chatInit)));
  const grpcMsg = chatBin;
  const envelope = (b: Buffer) => {
    const e = Buffer.alloc(5 + b.length);
    e.writeUInt32BE(b.length, 1);
    b.copy(e, 5);
    return e;
  };
  const json = { "content-type": "application/json" };
  const lpUrl = (m: string) => `http://127.0.0.1:${lp.port}/llmpool.v1.LLMPool/${m}`;
  const direct: Target = { name: "direct", url: `${upUrl}/v1/chat/completions`, headers: json, body: openaiBody };
  const minimal: Target = { name: "minimal proxy", url: `http://127.0.0.1:${mp.port}/v1/chat/completions`, headers: json, body: openaiBody };
  const peerHeaders = Object.fromEntries((values["peer-header"] as string[]).map((h) => [h.slice(0, h.indexOf(":")).trim(), h.slice(h.indexOf(":") + 1).trim()]));
  const peer: Target | undefined = values.peer ? { name: "peer", url: values.peer, headers: { ...json, ...peerHeaders }, body: openaiBody } : undefined;

  const suites: { name: string; cols: Target[] }[] = [
    { name: "Connect JSON", cols: [direct, minimal, { name: "llmpool", url: lpUrl("Chat"), headers: json, body: chatJson }, ...(peer ? [peer] : [])] },
    { name: "Connect binary", cols: [direct, minimal, { name: "llmpool", url: lpUrl("Chat"), headers: { "content-type": "application/proto" }, body: chatBin }] },
  ];
  const streamCols: Target[] = [
    { ...direct, body: openaiStream },
    { ...minimal, body: openaiStream },
    { name: "llmpool", url: lpUrl("StreamChat"), headers: { "content-type": "application/connect+json" }, body: envelope(chatJson) },
    ...(peer ? [{ ...peer, body: openaiStream }] : []),
  ];

  // Warm-up: JIT and keep-alive pools on every side.
  for (const s of suites) for (const t of s.cols) await sequential(t, 0.5);
  await grpcSequential(`127.0.0.1:${lp.port}`, grpcMsg, 0.5);
  await grpcSequential(`127.0.0.1:${mp.port}`, grpcMsg, 0.5);
  for (const t of streamCols) await firstByte(t, 0.3);

  const results = new Map<string, Column[]>();
  const col = (suite: string, t: Target) => {
    const cols = results.get(suite) ?? [];
    results.set(suite, cols);
    let c = cols.find((x) => x.target.name === t.name);
    if (!c) cols.push((c = { target: t, lat: [], rps: [], errors: 0 }));
    return c;
  };
  // CPU per call of each proxy over all its bursts, read from /proc.
  const cpu = new Map<string, { s: number; calls: number }>();
  const pids: Record<string, number> = { llmpool: lp.pid, "minimal proxy": mp.pid };
  const measured = async <T extends Throughput | number[]>(t: Target, run: () => Promise<T>): Promise<T> => {
    const pid = pids[t.name];
    if (!pid) return run();
    const c0 = cpuSeconds(pid);
    const r = await run();
    const acc = cpu.get(t.name) ?? { s: 0, calls: 0 };
    acc.s += cpuSeconds(pid) - c0;
    acc.calls += Array.isArray(r) ? r.length : r.requests;
    cpu.set(t.name, acc);
    return r;
  };
  const grpcTargets = [
    { name: "minimal proxy", address: `127.0.0.1:${mp.port}` },
    { name: "llmpool", address: `127.0.0.1:${lp.port}` },
  ];

  for (let round = 0; round < ROUNDS; round++) {
    process.stderr.write(`round ${round + 1}/${ROUNDS}\n`);
    for (const s of suites) {
      for (const t of s.cols) col(s.name, t).lat.push(...(await measured(t, () => sequential(t, BURST))));
      for (const t of s.cols) {
        const r = await measured(t, () => cannon(t, CONNS, BURST));
        col(s.name, t).rps.push(r.rps);
        col(s.name, t).errors += r.errors;
      }
    }
    // gRPC: direct is the upstream's own HTTP/1.1 figure from the same round.
    const d = col("gRPC", direct);
    d.lat.push(...(await sequential(direct, BURST)));
    d.rps.push((await cannon(direct, CONNS, BURST)).rps);
    for (const g of grpcTargets) {
      const t: Target = { name: g.name, url: g.address, headers: {}, body: grpcMsg };
      col("gRPC", t).lat.push(...(await measured(t, () => grpcSequential(g.address, grpcMsg, BURST))));
      const r = await measured(t, () => grpcConcurrent(g.address, grpcMsg, CONNS, BURST));
      col("gRPC", t).rps.push(r.rps);
      col("gRPC", t).errors += r.errors;
    }
    for (const t of streamCols) col("streaming (TTFT)", t).lat.push(...(await measured(t, () => firstByte(t, BURST))));
  }
  const peakRssKb = statusKb(lp.pid, "VmHWM");
  const afterRssKb = statusKb(lp.pid, "VmRSS");

  console.log(`\n${ROUNDS} rounds x ${BURST}s bursts per side, A B A B; node ${process.version}; llmpool log level ${values["log-level"]}\n`);
  const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
  for (const [suite, cols] of results) {
    const base = cols.find((c) => c.target.name === "direct")!;
    const floor = cols.find((c) => c.target.name === "minimal proxy");
    const b = [...base.lat].sort((x, y) => x - y);
    const names = cols.map((c) => c.target.name);
    console.log(`### ${suite}\n`);
    console.log(`| figure | ${names.join(" | ")} |`);
    console.log(`|---|${names.map(() => "---:").join("|")}|`);
    const p = (c: Column, q: number) => percentile([...c.lat].sort((x, y) => x - y), q);
    const row = (label: string, cell: (c: Column) => string) => console.log(`| ${label} | ${cols.map(cell).join(" | ")} |`);
    const ttft = suite.startsWith("streaming");
    row(ttft ? "first byte p50, ms" : "p50, ms", (c) => f(p(c, 50), 3));
    row(ttft ? "added TTFT p50, ms" : "added p50, ms", (c) => (c === base ? "—" : `+${f(p(c, 50) - percentile(b, 50), 3)}`));
    row(ttft ? "added TTFT p99, ms" : "added p99, ms", (c) => (c === base ? "—" : `+${f(p(c, 99) - percentile(b, 99), 3)}`));
    if (floor && !ttft) {
      const fp50 = p(floor, 50) - percentile(b, 50);
      const fp99 = p(floor, 99) - percentile(b, 99);
      row("added p50 / minimal proxy's", (c) => (c === base || c === floor ? "—" : `${f((p(c, 50) - percentile(b, 50)) / fp50, 2)}×`));
      row("added p99 / minimal proxy's", (c) => (c === base || c === floor ? "—" : `${f((p(c, 99) - percentile(b, 99)) / fp99, 2)}×`));
    }
    if (!ttft) {
      row(`req/s at ${CONNS} conns (median)`, (c) => f(median(c.rps), 0));
      row("req/s / direct", (c) => `${f(median(c.rps) / median(base.rps), 2)}×`);
      if (floor) row("req/s / minimal proxy", (c) => `${f(median(c.rps) / median(floor.rps), 2)}×`);
      row("errors", (c) => String(c.errors));
    }
    console.log("");
  }
  const perCall = (n: string) => ((cpu.get(n)?.s ?? 0) * 1e6) / Math.max(1, cpu.get(n)?.calls ?? 0);
  console.log(
    `CPU per call over all bursts: llmpool ${f(perCall("llmpool"), 0)} µs, minimal proxy ${f(perCall("minimal proxy"), 0)} µs ` +
      `(ratio ${f(perCall("llmpool") / perCall("minimal proxy"), 2)}×; absolute figures swing with the machine's load, the ratio less)`,
  );
  console.log(`llmpool RSS: idle after start ${f(idleRssKb / 1024, 1)} MB, idle settled ${f(settledRssKb / 1024, 1)} MB, peak under load ${f(peakRssKb / 1024, 1)} MB, after load ${f(afterRssKb / 1024, 1)} MB`);

  const json1 = results.get("Connect JSON")!;
  const grpcCols = results.get("gRPC")!;
  writeFileSync(
    values.svg!,
    latencySvg(`One call at a time, ${process.version}: Connect JSON (Node http) and gRPC (grpc-js)`, [
      ...json1.map((c) => ({ name: `${c.target.name}, JSON`, sorted: [...c.lat].sort((x, y) => x - y) })),
      ...grpcCols.filter((c) => c.target.name !== "direct").map((c) => ({ name: `${c.target.name}, gRPC`, sorted: [...c.lat].sort((x, y) => x - y) })),
    ]),
  );
  console.log(`latency plot: ${values.svg}`);

  if (!values["no-c-clients"]) await cClients({ direct, minimal, llmpool: json1.find((c) => c.target.name === "llmpool")!.target, mpPort: mp.port, lpPort: lp.port, grpcFrame: envelope(grpcMsg), dir, exec });

  await openStreams(lp, Number(values.streams));
  process.exit(0);
}

/** Memory per open stream: N StreamChat calls held open by the upstream after their first chunk. */
async function openStreams(lp: { port: number; pid: number }, n: number): Promise<void> {
  if (n <= 0) return;
  const before = statusKb(lp.pid, "VmRSS");
  const agent = new http.Agent({ keepAlive: true, maxSockets: n });
  const body = Buffer.from(JSON.stringify({ model: "held-model", messages: [{ role: "user", content: "hello" }] }));
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  const reqs: http.ClientRequest[] = [];
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve, reject) => {
          const req = http.request(
            { host: "127.0.0.1", port: lp.port, path: "/llmpool.v1.LLMPool/StreamChat", method: "POST", agent, headers: { "content-type": "application/connect+json" } },
            (res) => res.once("data", () => resolve()),
          );
          req.on("error", reject);
          reqs.push(req);
          req.end(frame);
        }),
    ),
  );
  const open = statusKb(lp.pid, "VmRSS");
  for (const r of reqs) r.destroy();
  agent.destroy();
  console.log(`${n} open streams: RSS ${f(before / 1024, 1)} MB before, ${f(open / 1024, 1)} MB with them open: ${f((open - before) / n, 1)} KB per stream`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

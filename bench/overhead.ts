/**
 * Gateway overhead and throughput: the same fake upstream called directly and through
 * llmpool, with C load generators (wrk for HTTP/1.1 JSON, h2load for gRPC over h2c) so the
 * client is not the bottleneck. Reports requests/s, latency, and llmpool's CPU time per call
 * (read from /proc, which is steadier than wall time on a shared machine).
 *
 *   npm run build && node --import tsx bench/overhead.ts [--duration 10] [--connections 64]
 *     [--portkey DIR]   # also measure Portkey's gateway, installed with
 *                       # `npm install @portkey-ai/gateway` in DIR (never committed here)
 *
 * Needs Debian's wrk and nghttp2-client (h2load).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs, promisify } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { ChatRequestSchema } from "../gen/llmpool/v1/llmpool_pb.js";

const exec = promisify(execFile);
const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "64" },
    "log-level": { type: "string", default: "warn" },
    /** A folder where `npm install @portkey-ai/gateway` was run: adds Portkey as a peer. */
    portkey: { type: "string" },
  },
});
const DURATION = Number(values.duration);
const CONNS = Number(values.connections);
const dir = mkdtempSync(join(tmpdir(), "llmpool-bench-"));
const children: ChildProcess[] = [];
process.on("exit", () => children.forEach((c) => c.kill("SIGTERM")));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function startUpstream(): Promise<number> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/upstream.ts"], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  for await (const line of createInterface({ input: child.stdout! })) return Number(line);
  throw new Error("upstream did not start");
}

async function startLlmpool(upstreamPort: number, logLevel: string, fastPath = true): Promise<{ port: number; pid: number }> {
  const port = await freePort();
  const config = join(dir, `llmpool-${port}.yaml`);
  writeFileSync(
    config,
    [
      `server: { fast_path: ${fastPath} }`,
      `log: { level: ${logLevel} }`,
      "pool: { strategy: round_robin, max_retries: 0 }",
      "providers:",
      "  - name: up",
      "    type: openai",
      `    base_url: http://127.0.0.1:${upstreamPort}/v1`,
      "    api_key: sk-bench-not-a-secret",
      "    models: [bench-model]",
      "    connections: 256",
    ].join("\n"),
  );
  const child = spawn(process.execPath, ["dist/src/cli.js", "serve", "--config", config, "--port", String(port), "--host", "127.0.0.1"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(child);
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (res.ok) return { port, pid: child.pid! };
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("llmpool did not start");
}

/** CPU seconds (user + system) used so far by a process. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

interface Run {
  name: string;
  rps: number;
  p50ms: number;
  p99ms: number;
  requests: number;
  errors: number;
  cpuUsPerCall?: number;
}

function ms(text: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(text);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
}

async function wrk(name: string, url: string, body: string, conns: number, pid?: number, headers: Record<string, string> = {}): Promise<Run> {
  const script = join(dir, `${name.replace(/\W+/g, "-")}.lua`);
  const extra = Object.entries(headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}\n`).join("");
  writeFileSync(
    script,
    `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["Content-Type"] = "application/json"\n${extra}` +
      `done = function(summary, latency, requests)\n  io.write(string.format("NON2XX %d\\n", summary.errors.status))\nend\n`,
  );
  const cpu0 = pid ? cpuSeconds(pid) : 0;
  const { stdout } = await exec("wrk", ["-t", String(Math.min(2, conns)), "-c", String(conns), "-d", `${DURATION}s`, "--latency", "-s", script, url], {
    maxBuffer: 1 << 20,
  });
  const cpu = pid ? cpuSeconds(pid) - cpu0 : 0;
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0);
  const errors = Number(/NON2XX (\d+)/.exec(stdout)?.[1] ?? 0) + Number(/Socket errors: .*?(\d+)/.exec(stdout)?.[1] ?? 0);
  return {
    name,
    requests,
    errors,
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0),
    p50ms: ms(/\s50%\s+(\S+)/.exec(stdout)?.[1] ?? ""),
    p99ms: ms(/\s99%\s+(\S+)/.exec(stdout)?.[1] ?? ""),
    cpuUsPerCall: pid && requests ? (cpu * 1e6) / requests : undefined,
  };
}

async function h2load(name: string, url: string, bodyFile: string, clients: number, streams: number, pid: number): Promise<Run> {
  const cpu0 = cpuSeconds(pid);
  const { stdout } = await exec(
    "h2load",
    ["-D", String(DURATION), "-c", String(clients), "-m", String(streams), "-d", bodyFile, "-H", "content-type: application/grpc", "-H", "te: trailers", url],
    { maxBuffer: 1 << 20 },
  );
  const cpu = cpuSeconds(pid) - cpu0;
  const done = Number(/(\d+) succeeded/.exec(stdout)?.[1] ?? 0);
  const failed = Number(/(\d+) failed/.exec(stdout)?.[1] ?? 0);
  const reqLine = /time for request:\s+(\S+)\s+(\S+)\s+(\S+)/.exec(stdout);
  return {
    name,
    requests: done,
    errors: failed,
    rps: Number(/finished in [^,]+, ([\d.]+) req\/s/.exec(stdout)?.[1] ?? 0),
    p50ms: reqLine ? ms(reqLine[3]!) : NaN, // h2load reports mean, not percentiles
    p99ms: reqLine ? ms(reqLine[2]!) : NaN, // max
    cpuUsPerCall: done ? (cpu * 1e6) / done : undefined,
  };
}

async function main() {
  if (!existsSync("dist/src/cli.js")) throw new Error("run `npm run build` first");
  for (const tool of ["wrk", "h2load"]) await exec("which", [tool]).catch(() => Promise.reject(new Error(`${tool} not installed (apt-get install wrk nghttp2-client)`)));
  const up = await startUpstream();
  const lp = await startLlmpool(up, values["log-level"]!);
  const upstreamBody = JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "hello" }] });
  const poolBody = JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "hello" }] });
  const msg = toBinary(ChatRequestSchema, create(ChatRequestSchema, { model: "bench-model", messages: [{ role: "user", content: "hello" }] }));
  const frame = Buffer.alloc(5 + msg.length);
  frame.writeUInt32BE(msg.length, 1);
  frame.set(msg, 5);
  const grpcBody = join(dir, "chat.grpc");
  writeFileSync(grpcBody, frame);
  const chatUrl = `http://127.0.0.1:${lp.port}/llmpool.v1.LLMPool/Chat`;

  // Warm both paths (JIT, keep-alive pools).
  await wrk("warm", chatUrl, poolBody, 8, lp.pid);

  const runs: Run[] = [];
  runs.push(await wrk("upstream alone, HTTP/1.1 JSON, 1 conn", `http://127.0.0.1:${up}/v1/chat/completions`, upstreamBody, 1));
  runs.push(await wrk("llmpool Connect JSON, HTTP/1.1, 1 conn", chatUrl, poolBody, 1, lp.pid));
  runs.push(await wrk(`upstream alone, HTTP/1.1 JSON, ${CONNS} conns`, `http://127.0.0.1:${up}/v1/chat/completions`, upstreamBody, CONNS));
  runs.push(await wrk(`llmpool Connect JSON, HTTP/1.1, ${CONNS} conns`, chatUrl, poolBody, CONNS, lp.pid));
  runs.push(await h2load("llmpool gRPC h2c, 1 conn x 1 stream", chatUrl, grpcBody, 1, 1, lp.pid));
  runs.push(await h2load(`llmpool gRPC h2c, 4 conns x ${CONNS / 4} streams`, chatUrl, grpcBody, 4, CONNS / 4, lp.pid));

  // The same server with every call through connect-node's generic handler (server.fast_path: false).
  const slow = await startLlmpool(up, values["log-level"]!, false);
  const slowUrl = `http://127.0.0.1:${slow.port}/llmpool.v1.LLMPool/Chat`;
  await wrk("warm", slowUrl, poolBody, 8, slow.pid);
  runs.push(await wrk(`fast_path off: Connect JSON, HTTP/1.1, ${CONNS} conns`, slowUrl, poolBody, CONNS, slow.pid));
  runs.push(await h2load(`fast_path off: gRPC h2c, 4 conns x ${CONNS / 4} streams`, slowUrl, grpcBody, 4, CONNS / 4, slow.pid));

  if (values.portkey) {
    // Portkey's Node gateway listens on 8787; it forwards to the same upstream as a custom host.
    const child = spawn(process.execPath, [join(values.portkey, "node_modules/@portkey-ai/gateway/build/start-server.js")], { stdio: "ignore" });
    children.push(child);
    const url = "http://127.0.0.1:8787/v1/chat/completions";
    const headers = { "x-portkey-provider": "openai", "x-portkey-custom-host": `http://127.0.0.1:${up}/v1`, authorization: "Bearer sk-bench" };
    for (let i = 0; i < 100; i++) {
      const ok = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: upstreamBody }).then((r) => r.ok, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await wrk("warm", url, upstreamBody, 8, child.pid, headers);
    runs.push(await wrk("Portkey gateway 1.15 (peer), HTTP/1.1 JSON, 1 conn", url, upstreamBody, 1, child.pid, headers));
    runs.push(await wrk(`Portkey gateway 1.15 (peer), HTTP/1.1 JSON, ${CONNS} conns`, url, upstreamBody, CONNS, child.pid, headers));
  }

  const f = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : "-");
  console.log(`\nduration ${DURATION}s per run, node ${process.version}, log level ${values["log-level"]}\n`);
  console.log("| run | req/s | p50 ms (h2load: mean) | p99 ms (h2load: max) | errors | gateway CPU µs/call |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const r of runs) {
    console.log(`| ${r.name} | ${f(r.rps, 0)} | ${f(r.p50ms, 3)} | ${f(r.p99ms, 3)} | ${r.errors} | ${r.cpuUsPerCall === undefined ? "-" : f(r.cpuUsPerCall, 0)} |`);
  }
  const cpu = (n: string) => runs.find((r) => r.name.startsWith(n) && r.name.endsWith(`${CONNS} conns`))?.cpuUsPerCall;
  const ours = cpu("llmpool Connect JSON");
  const theirs = cpu("Portkey");
  if (ours && theirs) console.log(`\nCPU per call, Portkey / llmpool (Connect JSON, ${CONNS} conns): ${f(theirs / ours, 1)}x`);
  const direct = runs[0]!;
  const viaPool = runs[1]!;
  console.log(`\nadded latency at 1 connection (p50): ${f(viaPool.p50ms - direct.p50ms, 3)} ms`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

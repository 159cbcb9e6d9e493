/**
 * First-request latency with and without warmup.
 *
 *   node --import tsx bench/warmup.ts [--runs 15] [--rtt 20]
 *
 * One HTTPS upstream (self-signed cert made with openssl, so a first call pays TCP and TLS
 * set-up) behind a TCP proxy that delays every chunk by rtt/2 each way, like a network path
 * with that round-trip time. For each run a fresh llmpool starts (health checks off in both
 * modes, since their first probe also opens a connection), a client connects to it (Health,
 * not timed), and the first Chat and a second one are timed: client-side wall time and the
 * server's own latency_ms. Prints medians as a markdown table.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { LLMPool } from "../gen/llmpool/v1/llmpool_pb.js";
import { validateConfig } from "../src/config/load.js";
import { createLlmpoolServer } from "../src/server/server.js";
import { createLogger } from "../src/util/logger.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "15" }, rtt: { type: "string", default: "20" } } });
const RUNS = Number(values.runs);
const RTT = Number(values.rtt);

process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0"; // the bench's own self-signed upstream
process.removeAllListeners("warning");

const dir = mkdtempSync(join(tmpdir(), "llmpool-warmup-"));
execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
  "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stdio: "ignore" });

const ANSWER = JSON.stringify({
  id: "chatcmpl-1",
  object: "chat.completion",
  model: "gpt-4o-mini",
  choices: [{ index: 0, message: { role: "assistant", content: "Hello." }, finish_reason: "stop" }],
  usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
});
const upstream = https.createServer({ key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) }, (req, res) => {
  req.resume();
  req.on("end", () => {
    res.setHeader("content-type", "application/json");
    res.end(req.url?.endsWith("/models") ? '{"data":[]}' : ANSWER);
  });
});
await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));

/** A TCP proxy that holds every chunk for rtt/2 in each direction. */
const proxy = net.createServer((client) => {
  const server = net.connect((upstream.address() as AddressInfo).port, "127.0.0.1");
  const pipe = (from: net.Socket, to: net.Socket) => {
    from.on("data", (chunk) => setTimeout(() => to.write(chunk), RTT / 2));
    from.on("end", () => setTimeout(() => to.end(), RTT / 2));
    from.on("error", () => to.destroy());
  };
  pipe(client, server);
  pipe(server, client);
});
await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
const baseUrl = `https://127.0.0.1:${(proxy.address() as AddressInfo).port}/v1`;

async function run(warmup: boolean) {
  const loaded = validateConfig(
    {
      log: { level: "silent" },
      pool: { warmup: { enabled: warmup } },
      providers: [{ name: "up", type: "openai", base_url: baseUrl, api_key: "sk-bench-0000000000", models: ["gpt-4o-mini"], health_check: { enabled: false } }],
    },
    "bench",
  );
  const server = await createLlmpoolServer({ loaded, logger: createLogger("silent"), processMetrics: false });
  const { port } = await server.listen(0, "127.0.0.1");
  const client = createClient(LLMPool, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
  await client.health({}); // the client's own connection is not what we measure
  const req = { messages: [{ role: "user", content: "hi" }] };
  let t = performance.now();
  const first = await client.chat(req);
  const firstWall = performance.now() - t;
  t = performance.now();
  const second = await client.chat(req);
  const secondWall = performance.now() - t;
  await server.close(1000);
  return { firstWall, firstServer: first.latencyMs, secondWall, secondServer: second.latencyMs };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const results: Record<string, Awaited<ReturnType<typeof run>>[]> = { off: [], on: [] };
for (let i = 0; i < RUNS; i++) {
  // Alternate, so drift on a shared machine hits both modes alike.
  results.off!.push(await run(false));
  results.on!.push(await run(true));
}
const row = (name: string, rs: Awaited<ReturnType<typeof run>>[]) =>
  `| ${name} | ${median(rs.map((r) => r.firstWall)).toFixed(1)} | ${median(rs.map((r) => r.firstServer)).toFixed(1)} | ${median(rs.map((r) => r.secondWall)).toFixed(1)} | ${median(rs.map((r) => r.secondServer)).toFixed(1)} |`;
console.log(`${RUNS} runs per mode, simulated RTT ${RTT} ms, HTTPS upstream; medians in ms\n`);
console.log("| warmup | first request, client | first request, server latency_ms | second request, client | second request, server latency_ms |");
console.log("|---|---:|---:|---:|---:|");
console.log(row("off (`--no-warmup`)", results.off!));
console.log(row("on (default)", results.on!));
proxy.close();
upstream.close();

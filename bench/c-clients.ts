/**
 * The added p50 seen by clients other than Node's: curl (one process, many URLs on one
 * keep-alive connection), wrk (1 connection) and h2load (gRPC over h2c, 1 connection, 1 stream),
 * each where installed (Debian: curl, wrk, nghttp2-client), against direct, minimal proxy and
 * llmpool in turn, twice, A B A B.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { percentile, type Target } from "./load.js";

export type Exec = (file: string, args: string[], opts?: { maxBuffer?: number }) => Promise<{ stdout: string }>;

export interface CClientOptions {
  direct: Target;
  minimal: Target;
  llmpool: Target;
  mpPort: number;
  lpPort: number;
  grpcFrame: Buffer;
  dir: string;
  exec: Exec;
}

function ms(text: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(text);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
}

export async function cClients(o: CClientOptions): Promise<void> {
  const exec = o.exec;
  const has = async (tool: string) => exec("which", [tool]).then(() => true, () => false);
  const targets = [o.direct, o.minimal, o.llmpool];
  const rows: string[] = [];
  const report = (tool: string, p50: number[]) => {
    rows.push(`| ${tool} | ${p50.map((v, i) => (i === 0 ? v.toFixed(3) : `+${(v - p50[0]!).toFixed(3)}`)).join(" | ")} |`);
  };
  if (await has("curl")) {
    const p50: number[] = [0, 0, 0];
    for (let round = 0; round < 2; round++) {
      for (const [i, t] of targets.entries()) {
        const bodyFile = join(o.dir, `curl-${i}.json`);
        writeFileSync(bodyFile, t.body);
        const headers = Object.entries(t.headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]);
        const args = ["-s", "-o", "/dev/null", "-w", "%{time_total}\\n"];
        for (let k = 0; k < 300; k++) args.push(...(k ? ["--next", "-s", "-o", "/dev/null", "-w", "%{time_total}\\n"] : []), "-X", "POST", ...headers, "--data-binary", `@${bodyFile}`, t.url);
        const { stdout } = await exec("curl", args, { maxBuffer: 1 << 22 });
        const times = stdout.trim().split("\n").slice(20).map((s) => Number(s) * 1000).sort((a, b) => a - b);
        p50[i]! += percentile(times, 50) / 2;
      }
    }
    report("curl (keep-alive, one at a time)", p50);
  } else rows.push("| curl | not installed |");
  if (await has("wrk")) {
    const p50: number[] = [0, 0, 0];
    for (let round = 0; round < 2; round++) {
      for (const [i, t] of targets.entries()) {
        const script = join(o.dir, `wrk-${i}.lua`);
        const hs = Object.entries(t.headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}\n`).join("");
        writeFileSync(script, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(t.body.toString("latin1"))}\n${hs}`);
        const { stdout } = await exec("wrk", ["-t", "1", "-c", "1", "-d", "2s", "--latency", "-s", script, t.url], { maxBuffer: 1 << 20 });
        p50[i]! += ms(/\s50%\s+(\S+)/.exec(stdout)?.[1] ?? "") / 2;
      }
    }
    report("wrk (1 connection)", p50);
  } else rows.push("| wrk | not installed (apt-get install wrk) |");
  if (await has("h2load")) {
    const frameFile = join(o.dir, "chat.grpc");
    writeFileSync(frameFile, o.grpcFrame);
    const mean: number[] = [NaN, 0, 0];
    for (let round = 0; round < 2; round++) {
      for (const [i, port] of [o.mpPort, o.lpPort].entries()) {
        const { stdout } = await exec(
          "h2load",
          ["-D", "2", "-c", "1", "-m", "1", "-d", frameFile, "-H", "content-type: application/grpc", "-H", "te: trailers", `http://127.0.0.1:${port}/llmpool.v1.LLMPool/Chat`],
          { maxBuffer: 1 << 20 },
        );
        const line = /time for request:\s+(\S+)\s+(\S+)\s+(\S+)/.exec(stdout);
        mean[i + 1]! += (line ? ms(line[3]!) : NaN) / 2;
      }
    }
    rows.push(`| h2load gRPC (1 conn, 1 stream; mean, ms) | — | ${mean[1]!.toFixed(3)} | ${mean[2]!.toFixed(3)} (${(mean[2]! - mean[1]!) >= 0 ? "+" : ""}${(mean[2]! - mean[1]!).toFixed(3)} over the minimal proxy) |`);
  } else rows.push("| h2load | not installed (apt-get install nghttp2-client) |");
  console.log("\n### Other clients, Connect JSON one call at a time (p50 ms: direct, then added)\n");
  console.log("| client | direct | minimal proxy | llmpool |\n|---|---:|---:|---:|");
  for (const r of rows) console.log(r);
  console.log("");
}

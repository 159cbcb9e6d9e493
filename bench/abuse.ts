/**
 * Abuse: hostile clients against one llmpool, while a well-behaved caller keeps calling.
 *
 *   npm run bench:abuse -- [--sockets 2000] [--streams 4000] [--flood 3000] [--oversize 40] [--phase-s 6]
 *
 * The server runs in a child process (this file with --serve), so its open fds and RSS are
 * read from /proc/<pid> without the attackers' own sockets in them. Gateway auth is on (one
 * key), timeouts are small (headers 2 s, body 3 s, idle 5 s), the queue holds 100 calls and
 * the mock provider takes 10 at a time (50 ms each). Phases, each bounded in count and time,
 * loopback only:
 *   slowloris   sockets sending half a request's headers, one more byte a second;
 *   half-open   HTTP/2 streams to GetPoolStats with no key, headers and part of a body, never
 *               ended (the issue's 15,000-stream case, scaled);
 *   flood       concurrent Chat calls far past the queue (most must be shed at once);
 *   oversize    bodies larger than server.max_request_bytes (8 MB) sent in full.
 * For each it prints the server's fds and RSS (peak during, and after), and the well-behaved
 * caller's calls, errors and latency (p50/p99) during the phase.
 */
import { fork } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import http2 from "node:http2";
import { connect, type Socket } from "node:net";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { LLMPool } from "../gen/llmpool/v1/llmpool_pb.js";

const KEY = "bench-abuse-key-0123456789";

if (process.argv.includes("--serve")) {
  const { validateConfig } = await import("../src/config/load.js");
  const { createLlmpoolServer } = await import("../src/server/server.js");
  const { createLogger } = await import("../src/util/logger.js");
  const loaded = validateConfig(
    {
      log: { level: "silent" },
      server: { auth: { api_keys: [KEY] }, timeouts: { headers_ms: 2000, body_ms: 3000, idle_ms: 5000 }, max_connections: 20_000 },
      cost: { ledger: { path: ":memory:" } },
      pool: { warmup: { enabled: false }, queue: { max_size: 100, timeout_ms: 5000 } },
      providers: [{ name: "m", type: "mock", models: ["mock"], max_concurrency: 10, mock: { latency_ms: 50 } }],
    },
    "bench",
    {},
  );
  const server = await createLlmpoolServer({ loaded, logger: createLogger("silent"), processMetrics: false });
  const addr = await server.listen(0, "127.0.0.1");
  process.send!({ port: addr.port });
  process.on("disconnect", () => process.exit(0));
} else {
  await main();
}

async function main() {
  const { values } = parseArgs({
    options: {
      sockets: { type: "string", default: "2000" },
      streams: { type: "string", default: "4000" },
      flood: { type: "string", default: "3000" },
      oversize: { type: "string", default: "40" },
      "phase-s": { type: "string", default: "6" },
    },
  });
  const PHASE_MS = Number(values["phase-s"]) * 1000;
  const child = fork(fileURLToPath(import.meta.url), ["--serve"], { execArgv: ["--import", "tsx"], stdio: "inherit" });
  const port = await new Promise<number>((r) => child.once("message", (m: { port: number }) => r(m.port)));
  const url = `http://127.0.0.1:${port}`;
  const pid = child.pid!;
  const fds = () => readdirSync(`/proc/${pid}/fd`).length;
  const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const client = createClient(LLMPool, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
  /** The well-behaved caller: sequential Chat calls until stopped. */
  function goodCaller() {
    const lat: number[] = [];
    let errors = 0;
    let stop = false;
    const done = (async () => {
      while (!stop) {
        const t = performance.now();
        try {
          await client.chat({ model: "mock", messages: [{ role: "user", content: "hi" }] }, { headers: { authorization: `Bearer ${KEY}` }, timeoutMs: 10_000 });
          lat.push(performance.now() - t);
        } catch {
          errors++;
        }
        await sleep(20);
      }
    })();
    return {
      async stop() {
        stop = true;
        await done;
        lat.sort((a, b) => a - b);
        const q = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!.toFixed(1) : "-");
        return { ok: lat.length, errors, p50: q(0.5), p99: q(0.99) };
      },
    };
  }

  const rows: string[] = [];
  async function phase(name: string, attack: (until: number) => Promise<string>) {
    const f0 = fds();
    const good = goodCaller();
    let peakFds = f0;
    let peakRss = rssMb();
    const sampler = setInterval(() => {
      peakFds = Math.max(peakFds, fds());
      peakRss = Math.max(peakRss, rssMb());
    }, 100);
    const note = await attack(performance.now() + PHASE_MS);
    const g = await good.stop();
    clearInterval(sampler);
    await sleep(500);
    const row = `| ${name} | ${note} | ${f0} / ${peakFds} / ${fds()} | ${peakRss.toFixed(0)} / ${rssMb().toFixed(0)} | ${g.ok} | ${g.errors} | ${g.p50} | ${g.p99} |`;
    rows.push(row);
    console.log(row);
  }

  console.log("| phase | attack | server fds before / peak / after | RSS MB peak / after | good calls | good errors | good p50 ms | good p99 ms |");
  console.log("|---|---|---:|---:|---:|---:|---:|---:|");
  await phase("baseline", async (until) => {
    await sleep(until - performance.now());
    return "none";
  });

  await phase("slowloris", async (until) => {
    const n = Number(values.sockets);
    const socks: Socket[] = [];
    let closedByServer = 0;
    for (let i = 0; i < n; i++) {
      const s = connect(port, "127.0.0.1");
      s.on("error", () => {});
      s.on("close", () => closedByServer++);
      s.write("POST /llmpool.v1.LLMPool/Chat HTTP/1.1\r\nhost: x\r\nx-a: ");
      socks.push(s);
      if (i % 200 === 199) await sleep(10);
    }
    const drip = setInterval(() => {
      for (const s of socks) if (!s.destroyed) s.write("a");
    }, 1000);
    await sleep(Math.max(0, until - performance.now()));
    clearInterval(drip);
    const closed = closedByServer;
    for (const s of socks) s.destroy();
    return `${n} sockets, ${closed} closed by the server within ${PHASE_MS / 1000} s`;
  });

  await phase("half-open h2 (no key)", async (until) => {
    const n = Number(values.streams);
    const sessions: http2.ClientHttp2Session[] = [];
    let answered = 0;
    let unauthenticated = 0;
    for (let i = 0; i < n; i++) {
      if (i % 250 === 0) {
        const s = http2.connect(url);
        s.on("error", () => {});
        sessions.push(s);
      }
      const st = sessions.at(-1)!.request({ ":method": "POST", ":path": "/llmpool.v1.LLMPool/GetPoolStats", "content-type": "application/grpc", te: "trailers" });
      st.on("error", () => {});
      st.on("response", (h) => {
        answered++;
        if (h["grpc-status"] === "16") unauthenticated++;
      });
      st.write(Buffer.from([0, 0, 0, 0, 200, 10]));
      if (i % 500 === 499) await sleep(10);
    }
    await sleep(Math.max(0, until - performance.now()));
    for (const s of sessions) s.destroy();
    return `${n} streams, ${answered} answered (${unauthenticated} UNAUTHENTICATED)`;
  });

  await phase("flood past the queue", async () => {
    const n = Number(values.flood);
    const flood = createClient(LLMPool, createConnectTransport({ baseUrl: url, httpVersion: "2" }));
    let ok = 0;
    let shed = 0;
    let other = 0;
    const reasons = new Map<string, number>();
    const t = performance.now();
    await Promise.all(
      Array.from({ length: n }, () =>
        flood.chat({ model: "mock", messages: [{ role: "user", content: "x" }] }, { headers: { authorization: `Bearer ${KEY}` } }).then(
          () => ok++,
          (e: { code?: number; message?: string }) => {
            if (e.code === 8) return shed++;
            other++;
            const why = String(e.message).slice(0, 60);
            reasons.set(why, (reasons.get(why) ?? 0) + 1);
          },
        ),
      ),
    );
    const top = [...reasons].sort((a, b) => b[1] - a[1])[0];
    return `${n} calls in ${((performance.now() - t) / 1000).toFixed(1)} s: ${ok} ok, ${shed} RESOURCE_EXHAUSTED, ${other} other${top ? ` (${top[1]}× ${top[0]})` : ""}`;
  });

  await phase("oversize bodies", async () => {
    const n = Number(values.oversize);
    const body = Buffer.alloc(9 * 1024 * 1024, 0x61);
    let refused = 0;
    await Promise.all(
      Array.from({ length: n }, () =>
        fetch(`${url}/llmpool.v1.LLMPool/Chat`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` }, body }).then(
          async (r) => {
            await r.arrayBuffer();
            if (r.status !== 200) refused++;
          },
          () => refused++,
        ),
      ),
    );
    return `${n} × 9 MB bodies: ${refused} refused`;
  });

  child.disconnect();
  child.kill();
}

/**
 * What a front door costs: the same call through the OpenAI door and through Connect (JSON
 * over HTTP/1.1, the fast path), on one in-process llmpool whose providers are `mock`s that
 * answer at once, so the figures are the gateway's own work. Chat: POST /v1/chat/completions
 * vs /llmpool.v1.LLMPool/Chat; embeddings: POST /v1/embeddings vs /llmpool.v1.LLMPool/Embed.
 *
 * The machine is shared, so: the cases alternate in short rounds, CPU time is read with
 * process.cpuUsage() (server and client are one process, and the client's work is the same
 * for both doors), and the median round counts. Door overhead = door CPU/call − Connect CPU/call.
 *
 *   node --import tsx bench/doors.ts [--calls 2000] [--rounds 7] [--concurrency 16]
 */
import { parseArgs } from "node:util";
import { Pool as HttpPool } from "undici";
import { validateConfig } from "../src/config/load.js";
import { createLlmpoolServer } from "../src/server/server.js";
import { createLogger } from "../src/util/logger.js";

const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "2000" },
    rounds: { type: "string", default: "7" },
    concurrency: { type: "string", default: "16" },
  },
});
const CALLS = Number(values.calls);
const ROUNDS = Number(values.rounds);
const CONC = Number(values.concurrency);

const messages = [{ role: "user", content: "Say something short." }];
const CASES = [
  { name: "Connect Chat (JSON)", path: "/llmpool.v1.LLMPool/Chat", body: JSON.stringify({ model: "bench-model", messages }) },
  { name: "OpenAI door /v1/chat/completions", path: "/v1/chat/completions", body: JSON.stringify({ model: "bench-model", messages }) },
  { name: "Connect Embed (JSON)", path: "/llmpool.v1.LLMPool/Embed", body: JSON.stringify({ model: "bench-embed", inputs: ["a short text", "another one"] }) },
  { name: "OpenAI door /v1/embeddings", path: "/v1/embeddings", body: JSON.stringify({ model: "bench-embed", input: ["a short text", "another one"], encoding_format: "float" }) },
];

interface Round {
  cpuUs: number;
  rps: number;
  p50ms: number;
}

async function run(client: HttpPool, path: string, body: string, calls: number): Promise<Round> {
  const lat: number[] = [];
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    while (next < calls) {
      next++;
      const s = performance.now();
      const res = await client.request({ method: "POST", path, body, headers: { "content-type": "application/json" } });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`${path}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
      lat.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: CONC }, worker));
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  lat.sort((a, b) => a - b);
  return { cpuUs: (cpu.user + cpu.system) / calls, rps: (calls * 1000) / wall, p50ms: lat[Math.floor(lat.length / 2)]! };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const loaded = validateConfig(
    {
      log: { level: "silent" },
      cost: { ledger: { path: ":memory:" } },
      pool: { strategy: "round_robin", max_retries: 0 },
      providers: [{ name: "m", type: "mock", models: ["bench-model"], embedding_models: ["bench-embed"], mock: { latency_ms: 0, reply: "The quick brown fox jumps over the lazy dog." } }],
    },
    "bench",
    {},
  );
  const server = await createLlmpoolServer({ loaded, logger: createLogger("silent"), processMetrics: false });
  const addr = await server.listen(0, "127.0.0.1");
  const client = new HttpPool(`http://127.0.0.1:${addr.port}`, { connections: CONC, pipelining: 1 });
  for (const c of CASES) await run(client, c.path, c.body, Math.min(CALLS, 1000)); // JIT warm-up
  const rounds = new Map<string, Round[]>(CASES.map((c) => [c.name, []]));
  for (let r = 0; r < ROUNDS; r++) for (const c of CASES) rounds.get(c.name)!.push(await run(client, c.path, c.body, CALLS));
  const m = (name: string, k: keyof Round) => median(rounds.get(name)!.map((x) => x[k]));
  console.log(`\n${CALLS} calls x ${ROUNDS} rounds per case, concurrency ${CONC}, medians, node ${process.version}\n`);
  console.log("| run | req/s | p50 ms | CPU µs/call (server + client) |");
  console.log("|---|---:|---:|---:|");
  for (const c of CASES) console.log(`| ${c.name} | ${m(c.name, "rps").toFixed(0)} | ${m(c.name, "p50ms").toFixed(3)} | ${m(c.name, "cpuUs").toFixed(1)} |`);
  const d = (a: string, b: string) => m(a, "cpuUs") - m(b, "cpuUs");
  console.log(`\nOpenAI door over Connect: chat ${d(CASES[1]!.name, CASES[0]!.name).toFixed(1)} µs CPU/call (p50 ${(m(CASES[1]!.name, "p50ms") - m(CASES[0]!.name, "p50ms")).toFixed(3)} ms), embeddings ${d(CASES[3]!.name, CASES[2]!.name).toFixed(1)} µs CPU/call`);
  await client.close();
  await server.close(1000);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

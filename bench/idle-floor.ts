/**
 * Idle memory against its floor: three processes started side by side with the flags the
 * Docker image and `npm start` use, each read from /proc after V8's memory reducer has run
 * (~16 s after start, bench/overhead.ts):
 *
 *   bare      node with an HTTP/1.1 and an HTTP/2 server listening, nothing imported;
 *   libraries the same, plus the libraries llmpool cannot serve without, loaded and touched as
 *             llmpool loads them (undici's Pool from its own module, Connect, protobuf-es and the
 *             generated service, zod, yaml, pino, prom-client, opossum, better-sqlite3 with an
 *             open file, the OpenTelemetry API), and no code of llmpool's;
 *   llmpool   dist/src/cli.js serve with one provider and the defaults.
 *
 *   npm run build && npx tsx bench/idle-floor.ts [--seconds 20]
 *
 * What llmpool holds above "libraries" is its own code and state; what "libraries" holds above
 * "bare" is the price of the stack (bench/RESULTS.md "Ninth pass").
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { freePort, statusKb } from "./proc.js";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "20" } } });
const dir = mkdtempSync(join(tmpdir(), "llmpool-idle-"));
const FLAGS = ["--max-semi-space-size=16", "--heap-growing-percent=20"];

const servers = `
import http from "node:http"; import http2 from "node:http2";
http.createServer((q, s) => s.end()).listen(0, "127.0.0.1");
http2.createServer().listen(0, "127.0.0.1");`;

const libraries = `${servers}
import { createRequire } from "node:module";
const require = createRequire(process.cwd() + "/");
const Pool = require("undici/lib/dispatcher/pool.js");
require("undici/lib/api/api-request.js"); require("undici/lib/core/errors.js");
new Pool("http://127.0.0.1:9", { connections: 8 });
const { connectNodeAdapter } = await import("@connectrpc/connect-node");
const { LLMPool, ChatRequestSchema } = await import("./dist/gen/llmpool/v1/llmpool_pb.js");
const { toBinary, fromJson } = await import("@bufbuild/protobuf");
toBinary(ChatRequestSchema, fromJson(ChatRequestSchema, { model: "m", messages: [{ role: "user", content: "x" }] }));
http.createServer(connectNodeAdapter({ routes: (r) => r.service(LLMPool, {}) })).listen(0, "127.0.0.1");
const { z } = await import("zod");
z.object({ a: z.string(), b: z.array(z.number()).optional() }).parse({ a: "x" });
(await import("yaml")).parse("a: { b: [1, 2] }");
(await import("pino")).pino({ level: "info" }, { write() {} }).info("x");
const prom = await import("prom-client");
new prom.Histogram({ name: "h", help: "h", labelNames: ["p"] }).labels("p").observe(1);
new (require("opossum"))(async () => 1).fire();
const Database = require("better-sqlite3");
new Database(${JSON.stringify(join(dir, "floor.db"))}).exec("create table if not exists t (a integer)");
await import("@opentelemetry/api");
setInterval(() => {}, 1e6);`;

const children: ChildProcess[] = [];
process.on("exit", () => children.forEach((c) => c.kill("SIGTERM")));

function start(args: string[]): ChildProcess {
  const child = spawn(process.execPath, [...FLAGS, ...args], { stdio: ["ignore", "ignore", "inherit"] });
  children.push(child);
  return child;
}

async function main() {
  const port = await freePort();
  const config = join(dir, "llmpool.yaml");
  writeFileSync(
    config,
    [
      `cost: { ledger: { path: ${JSON.stringify(join(dir, "ledger.db"))} } }`,
      "providers:",
      "  - { name: up, type: openai, base_url: 'http://127.0.0.1:9/v1', api_key: sk-idle-not-a-secret, models: [m] }",
    ].join("\n"),
  );
  const rows: [string, ChildProcess][] = [
    ["bare", start(["--input-type=module", "--eval", `${servers}\nsetInterval(() => {}, 1e6);`])],
    ["libraries", start(["--input-type=module", "--eval", libraries])],
    ["llmpool", start(["dist/src/cli.js", "serve", "--config", config, "--port", String(port), "--host", "127.0.0.1"])],
  ];
  await new Promise((r) => setTimeout(r, Number(values.seconds) * 1000));
  const mb = (kb: number) => (kb / 1024).toFixed(1).padStart(7);
  console.log(`node ${process.version}, ${values.seconds} s after start (MB)\n           ${["RSS", "anon", "file"].map((h) => h.padStart(7)).join("")}`);
  for (const [name, child] of rows) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    const pid = child.pid!;
    console.log(`${name.padEnd(11)}${mb(statusKb(pid, "VmRSS"))}${mb(statusKb(pid, "RssAnon"))}${mb(statusKb(pid, "RssFile"))}`);
  }
  process.exit(0);
}

void main();

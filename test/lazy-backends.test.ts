/**
 * Optional backends are loaded only when the config names them (src/state/redis.ts,
 * src/cost/ledger-postgres.ts, src/server/server.ts): ioredis, pg and the OpenTelemetry SDK
 * hold ~18 MB of heap between them that a process on the defaults never uses
 * (bench/RESULTS.md "Fourth pass"); undici's index (fetch, WebSocket, mocks) loads only for a
 * config served over HTTP (src/providers/undici-pool.ts). A preload lists, at exit, the files
 * the process loaded from node_modules.
 */
import { describe, expect, it } from "vitest";
import { startReplica } from "./helpers/replicas.js";

const SPY = `data:text/javascript,${encodeURIComponent(`
import { createRequire } from "node:module";
const req = createRequire(process.cwd() + "/");
process.on("exit", () => {
  for (const k of Object.keys(req.cache)) {
    const m = /node_modules\\/(.+)$/.exec(k);
    if (m) process.stderr.write("LOADED " + m[1] + "\\n");
  }
});`)}`;

/**
 * With tsx's transform cache warm, tsx hands Node the source of CommonJS packages that ESM
 * imports, and Node then loads them, and what they require, outside require.cache: the list came
 * out short in about one run in three. Without the cache they load through require() as in
 * production.
 */
const NO_TSX_CACHE = { TSX_DISABLE_CACHE: "1" };

/** Package names and package-relative files (`undici/lib/web/fetch/index.js`) the process loaded. */
async function loadedWith(extra: Record<string, unknown>): Promise<Set<string> & { how: string }> {
  const r = await startReplica({ log: { level: "warn" }, cost: { ledger: { path: ":memory:" } }, providers: [{ name: "m", type: "mock", models: ["mock"] }], ...extra }, NO_TSX_CACHE, ["--import", SPY]);
  await r.stop();
  const files = r.stderr().split("\n").filter((l) => l.startsWith("LOADED ")).map((l) => l.slice(7));
  // The spy saw the files a package requires (yaml's composer is one), and the replica ran its
  // exit hook: not killed after the stop's grace period.
  const how = `exit ${r.child.exitCode}, signal ${r.child.signalCode}, ${files.length} files listed`;
  expect(files.includes("yaml/dist/compose/composer.js"), how).toBe(true);
  return Object.assign(new Set(files.flatMap((f) => [f, /^(?:@[^/]+\/)?[^/]+/.exec(f)![0]])), { how });
}

describe("optional backends", () => {
  it("are not loaded on the defaults; tracing loads the OpenTelemetry SDK when enabled", async () => {
    const plain = await loadedWith({});
    for (const p of ["ioredis", "pg", "@opentelemetry/sdk-trace-base", "@opentelemetry/exporter-trace-otlp-http"]) expect(plain.has(p), p).toBe(false);
    expect(plain.has("undici/lib/dispatcher/pool.js")).toBe(true);
    for (const f of ["undici/index.js", "undici/lib/web/fetch/index.js"]) expect(plain.has(f), f).toBe(false);
    const traced = await loadedWith({ telemetry: { tracing: { enabled: true, endpoint: "http://127.0.0.1:9/v1/traces" } } });
    expect(traced.has("@opentelemetry/sdk-trace-base"), traced.how).toBe(true);
    expect(traced.has("ioredis")).toBe(false);
  });
});

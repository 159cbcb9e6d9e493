/**
 * Issue 12: safe by default (loopback, no CORS origin, a public address needs a gateway key or
 * an explicit opt-out) and caps on the request's shape, each INVALID_ARGUMENT naming the field.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { validateConfig } from "../src/config/load.js";
import { createLlmpoolServer } from "../src/server/server.js";
import { createLogger } from "../src/util/logger.js";
import { failure, harness } from "./helpers/harness.js";
import { user } from "./helpers/server.js";

const h = harness();
const mock = { name: "m", type: "mock", models: ["mock"], mock: { latency_ms: 0 } };

async function bare(server: Record<string, unknown>) {
  const loaded = validateConfig({ server, log: { level: "silent" }, cost: { ledger: { path: ":memory:" } }, providers: [mock] }, "t", {});
  const s = await createLlmpoolServer({ loaded, logger: createLogger("silent"), processMetrics: false });
  h.cleanup.push(() => s.close(500));
  return s;
}

describe("safe defaults", () => {
  it("listens on 127.0.0.1 and allows no CORS origin by default", async () => {
    const { config } = validateConfig({ providers: [mock] }, "t", {});
    expect(config.server.host).toBe("127.0.0.1");
    expect(config.server.cors.allowed_origins).toEqual([]);
    const s = await bare({ port: 0 });
    const addr = await s.listen(0);
    expect(addr.address).toBe("127.0.0.1");
    const url = `http://127.0.0.1:${addr.port}`;
    const pre = await fetch(`${url}/llmpool.v1.LLMPool/Chat`, { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "POST" } });
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
    const res = await fetch(`${url}/healthz`, { headers: { origin: "https://evil.example" } });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("allows the origins listed in server.cors.allowed_origins", async () => {
    const s = await h.serve({ server: { cors: { allowed_origins: ["https://app.example"] } }, providers: [mock] });
    const ok = await fetch(`${s.url}/healthz`, { headers: { origin: "https://app.example" } });
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example");
  });

  it("refuses a public address with no gateway key, naming server.auth and the opt-out", async () => {
    const s = await bare({});
    await expect(s.listen(0, "0.0.0.0")).rejects.toThrow(/server\.auth.*server\.auth\.allow_anonymous: true/s);
    const anon = await bare({ auth: { allow_anonymous: true } });
    expect((await anon.listen(0, "0.0.0.0")).address).toBe("0.0.0.0");
    const keyed = await bare({ auth: { keys: [{ key: "vk-0123456789abcdef", tenant: "t" }] } });
    expect((await keyed.listen(0, "0.0.0.0")).address).toBe("0.0.0.0");
  });

  it("llmpool serve --host 0.0.0.0 with no key exits before serving", () => {
    const dir = mkdtempSync(join(tmpdir(), "llmpool-exposed-"));
    const file = join(dir, "c.yaml");
    writeFileSync(file, JSON.stringify({ cost: { ledger: { path: ":memory:" } }, providers: [mock] }));
    const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli.ts", "serve", "--config", file, "--host", "0.0.0.0", "--port", "0"], {
      encoding: "utf8",
      env: { PATH: process.env.PATH },
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("server.auth.allow_anonymous: true");
  }, 60_000);

  it("LLMPOOL_API_KEYS supplies gateway keys (the Dockerfile's way)", async () => {
    const { applyOverrides } = await import("../src/config/overrides.js");
    const raw = applyOverrides({ providers: [mock] }, {}, { LLMPOOL_API_KEYS: "gw-key-0123456789, gw-key-9876543210", LLMPOOL_HOST: "0.0.0.0" });
    const { config } = validateConfig(raw, "t", {});
    expect(config.server.auth.api_keys).toEqual(["gw-key-0123456789", "gw-key-9876543210"]);
    expect(config.server.host).toBe("0.0.0.0");
  });
});

describe("request caps", () => {
  const limits = { max_metadata_entries: 4, max_tools: 2, max_tool_schema_bytes: 200, max_decoded_bytes: 1000 };
  const tool = (name: string, parameters: Record<string, unknown> = { type: "object" }) => ({ name, parameters });

  it("each is INVALID_ARGUMENT naming the field, on gRPC and Connect", async () => {
    const s = await h.serve({ server: { limits }, providers: [mock] });
    const cases: [object, RegExp][] = [
      [{ metadata: Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, "v"])) }, /^metadata: at most 4 entries/],
      [{ tools: [tool("a"), tool("b"), tool("c")] }, /^tools: at most 2 tools/],
      [{ tools: [tool("a", { type: "object", description: "d".repeat(300) })] }, /^tools\[0\]\.parameters: schema larger than 200 bytes/],
      [{ messages: [user("x".repeat(1200))] }, /^request: decoded request larger than 1000 bytes/],
    ];
    for (const [extra, msg] of cases) {
      for (const client of [s.grpc, s.connect]) {
        const err = await failure(client.chat({ model: "mock", messages: [user("hi")], ...extra }));
        expect(err.code).toBe(Code.InvalidArgument);
        expect(err.rawMessage).toMatch(msg);
      }
    }
    // Within the caps, the same shapes pass.
    await s.grpc.chat({ model: "mock", messages: [user("hi")], metadata: { a: "1", b: "2", c: "3", d: "4" } });
  });

  it("bounds a flood of metadata entries by default", async () => {
    const s = await h.serve({ providers: [mock] });
    const metadata = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, "v"]));
    const err = await failure(s.grpc.chat({ model: "mock", messages: [user("hi")], metadata }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("server.limits.max_metadata_entries");
  });
});

describe("README Security section", () => {
  it("its virtual-key example is a valid config that binds tenants as described", async () => {
    const { readFileSync } = await import("node:fs");
    const { parseConfigText } = await import("../src/config/load.js");
    const readme = readFileSync("README.md", "utf8");
    const section = readme.slice(readme.indexOf("## Security"), readme.indexOf("## CLI"));
    const block = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
    const env = { TEAM_A_KEY: "team-a-key-0123456789abcdef", OPS_KEY: "ops-key-0123456789" };
    const { config } = validateConfig(parseConfigText(block, "README"), "README", env);
    expect(config.server.auth.keys.map((k) => k.tenant)).toEqual(["team-a", "batch"]);
    expect(config.cost.budgets.tenants["team-a"]).toEqual({ daily_usd: 20 });
  });
});

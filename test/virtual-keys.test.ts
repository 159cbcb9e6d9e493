/**
 * Issue 12, virtual keys bound to tenants, through the real server: the key decides the
 * tenant (metadata.tenant cannot move spend), its rpm (RESOURCE_EXHAUSTED with a retry delay),
 * its model globs (PERMISSION_DENIED naming the model), its budget; key_sha256 keys and plain
 * api_keys work; /metrics can require a key.
 */
import { Code } from "@connectrpc/connect";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { failure, harness } from "./helpers/harness.js";
import { openaiProvider, user } from "./helpers/server.js";

const h = harness();
const KEY_A = "vk-team-a-4f1d2c3b5a697887";
const KEY_B = "vk-batch-9e8d7c6b5a4f3e2d";
const KEY_CAP = "vk-capped-0a1b2c3d4e5f6789";
const PLAIN = "plain-gateway-key-01234";
const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const bearer = (k: string) => ({ headers: { authorization: `Bearer ${k}` } });

async function serve(extraServer: Record<string, unknown> = {}) {
  const [up] = await h.fakes("up");
  const s = await h.serve({
    server: {
      auth: {
        api_keys: [PLAIN],
        keys: [
          { key: KEY_A, tenant: "team-a", rpm: 2, models: ["gpt-4o*"] },
          { key_sha256: sha(KEY_B), tenant: "batch", priority: -1 },
          { key: KEY_CAP, tenant: "capped", budget: { daily_usd: 0.5 } },
        ],
      },
      ...extraServer,
    },
    pool: { warmup: { enabled: false } },
    providers: [openaiProvider("up", up!.url, { models: ["gpt-4o-mini", "o1-mini"], embedding_models: ["text-embedding-3-small"], pricing: { input_per_1m: 1, output_per_1m: 10 } })],
  });
  return { s, up: up! };
}

describe("virtual keys", () => {
  it("bind the tenant: metadata.tenant cannot move spend to another tenant", async () => {
    const { s } = await serve();
    await s.grpc.chat({ model: "gpt-4o-mini", messages: [user("hi")], metadata: { tenant: "someone-else" } }, bearer(KEY_A));
    await s.connect.chat({ model: "gpt-4o-mini", messages: [user("hi")], metadata: { tenant: "victim" } }, bearer(KEY_B));
    const tenants = s.server.cost.spend;
    expect(tenants.spent("tenant", "team-a", "daily")).toBeGreaterThan(0);
    expect(tenants.spent("tenant", "batch", "daily")).toBeGreaterThan(0);
    expect(tenants.spent("tenant", "someone-else", "daily")).toBe(0);
    expect(tenants.spent("tenant", "victim", "daily")).toBe(0);
    // A plain api_keys key is trusted: metadata.tenant still attributes its spend.
    await s.connect.chat({ model: "gpt-4o-mini", messages: [user("hi")], metadata: { tenant: "ops" } }, bearer(PLAIN));
    expect(tenants.spent("tenant", "ops", "daily")).toBeGreaterThan(0);
  });

  it("enforce the key's rpm with RESOURCE_EXHAUSTED and a retry delay", async () => {
    const { s } = await serve();
    for (let i = 0; i < 2; i++) await s.grpc.chat({ model: "gpt-4o-mini", messages: [user("hi")] }, bearer(KEY_A));
    const err = await failure(s.grpc.chat({ model: "gpt-4o-mini", messages: [user("hi")] }, bearer(KEY_A)));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toContain("rpm 2");
    expect(Number(err.metadata.get("retry-after-ms"))).toBeGreaterThan(0);
    // Another key is not limited by it.
    await s.grpc.chat({ model: "gpt-4o-mini", messages: [user("hi")] }, bearer(KEY_B));
  });

  it("allow only the key's model globs: PERMISSION_DENIED naming the model", async () => {
    const { s, up } = await serve();
    const err = await failure(s.connect.chat({ model: "o1-mini", messages: [user("hi")] }, bearer(KEY_A)));
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.rawMessage).toContain('"o1-mini"');
    expect(up.chatRequests()).toHaveLength(0);
    // The same model through a key without globs.
    await s.connect.chat({ model: "o1-mini", messages: [user("hi")] }, bearer(KEY_B));
  });

  it("spend the key's budget: past it, RESOURCE_EXHAUSTED naming the tenant", async () => {
    const { s } = await serve();
    const stats = await s.connect.getPoolStats({}, bearer(PLAIN));
    expect(stats.budgets.map((b) => [b.scope, b.key, b.period, b.limitUsd])).toContainEqual(["tenant", "capped", "daily", 0.5]);
    s.server.cost.spend.add("tenant", "capped", 0.5);
    const err = await failure(s.grpc.chat({ model: "gpt-4o-mini", messages: [user("hi")] }, bearer(KEY_CAP)));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toContain('tenant "capped"');
  });

  it("refuse unknown and missing keys, on every RPC", async () => {
    const { s } = await serve();
    for (const opts of [{}, bearer("vk-not-a-real-key-000000"), { headers: { "x-api-key": sha(KEY_B) } }]) {
      expect((await failure(s.grpc.chat({ model: "gpt-4o-mini", messages: [user("hi")] }, opts))).code).toBe(Code.Unauthenticated);
      expect((await failure(s.connect.getPoolStats({}, opts))).code).toBe(Code.Unauthenticated);
    }
    await s.connect.listModels({}, { headers: { "x-api-key": KEY_B } });
  });

  it("/metrics needs a key when server.metrics.auth is on (and is open by default)", async () => {
    const open = await serve();
    expect((await fetch(`${open.s.url}/metrics`)).status).toBe(200);
    const { s } = await serve({ metrics: { auth: true } });
    const denied = await fetch(`${s.url}/metrics`);
    expect(denied.status).toBe(401);
    expect(await denied.text()).not.toContain("llmpool_");
    const ok = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${KEY_B}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("llmpool_");
  });

  it("config errors name their path", async () => {
    const { validateConfig } = await import("../src/config/load.js");
    const bad = (auth: unknown) => () => validateConfig({ server: { auth }, providers: [{ name: "m", type: "mock", models: ["m"] }] }, "t", {});
    expect(bad({ keys: [{ tenant: "a" }] })).toThrow(/server\.auth\.keys\[0\]\.key: set exactly one of key and key_sha256/);
    expect(bad({ keys: [{ key_sha256: "abc", tenant: "a" }] })).toThrow(/server\.auth\.keys\[0\]\.key_sha256: must be 64 hex digits/);
    expect(bad({ keys: [{ key: KEY_A, tenant: "a", rpm: "x" }] })).toThrow(/server\.auth\.keys\[0\]\.rpm/);
    expect(bad({ keys: [{ key: KEY_A, tenant: "a", scope: 1 }] })).toThrow(/server\.auth\.keys\[0\]\.scope: unknown key/);
    expect(bad({ api_keys: [KEY_A], keys: [{ key: KEY_A, tenant: "a" }] })).toThrow(/server\.auth\.keys\[0\]\.key: the same key as server\.auth\.api_keys\[0\]/);
  });

  it("apply on the HTTP front doors and to embeddings too", async () => {
    const { s } = await serve();
    const post = (path: string, key: string, body: unknown) =>
      fetch(`${s.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "x-llmpool-tenant": "victim" }, body: JSON.stringify(body) });
    const ok = await post("/v1/chat/completions", KEY_A, { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    expect(ok.status).toBe(200);
    expect(s.server.cost.spend.spent("tenant", "team-a", "daily")).toBeGreaterThan(0);
    expect(s.server.cost.spend.spent("tenant", "victim", "daily")).toBe(0);
    // KEY_A may call gpt-4o* only: an embedding model is refused by name on the door and the RPC.
    const denied = await post("/v1/embeddings", KEY_A, { model: "text-embedding-3-small", input: "x" });
    expect(denied.status).toBe(403);
    expect(JSON.stringify(await denied.json())).toContain("text-embedding-3-small");
    const rpc = await failure(s.connect.embed({ model: "text-embedding-3-small", inputs: ["x"] }, bearer(KEY_A)));
    expect(rpc.code).toBe(Code.PermissionDenied);
    // rpm 2 is spent (one chat above, one here): the door answers 429 with retry-after.
    await post("/v1/chat/completions", KEY_A, { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    const limited = await post("/v1/chat/completions", KEY_A, { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBeTruthy();
  });
});

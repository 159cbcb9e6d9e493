/**
 * Level 1: the LLMPool service in memory (createRouterTransport), no sockets.
 */
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { LLMPool } from "../gen/llmpool/v1/llmpool_pb.js";
import { validateConfig } from "../src/config/load.js";
import { Pool } from "../src/pool/pool.js";
import { createLLMPoolService, registerLLMPool } from "../src/server/service.js";

function client(raw: Record<string, unknown>) {
  const pool = new Pool(validateConfig(raw, "test", {}));
  const transport = createRouterTransport((router) => registerLLMPool(router, createLLMPoolService({ pool: () => pool })));
  return { pool, client: createClient(LLMPool, transport) };
}

const mocks = {
  pool: { default_model: "mock", strategy: "round_robin" },
  providers: [
    { name: "m1", type: "mock", models: ["mock"], mock: { latency_ms: 0, reply: "one says {prompt}" } },
    { name: "m2", type: "mock", models: ["mock", "other"], mock: { latency_ms: 0, reply: "two says {prompt}" } },
  ],
};
const hi = [{ role: "user", content: "hi" }];

async function codeOf(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected an error");
}

describe("LLMPool in memory", () => {
  it("Chat answers through the pool, round robin across providers", async () => {
    const { client: c } = client(mocks);
    const a = await c.chat({ messages: hi });
    const b = await c.chat({ messages: hi });
    expect([a.provider, b.provider].sort()).toEqual(["m1", "m2"]);
    expect(a.message?.role).toBe("assistant");
    expect(a.message?.content).toBe(`${a.provider === "m1" ? "one" : "two"} says hi`);
    expect(a.finishReason).toBe("stop");
    expect(a.attempts).toBe(1);
    expect(a.usage?.totalTokens).toBe(a.usage!.promptTokens + a.usage!.completionTokens);
    expect(a.requestId).not.toBe("");
  });

  it("StreamChat streams deltas and ends with a summary chunk", async () => {
    const { client: c } = client(mocks);
    const chunks = [];
    for await (const ch of c.streamChat({ model: "other", messages: [{ role: "user", content: "a b c" }] })) chunks.push(ch);
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks[0]!.provider).toBe("m2");
    expect(chunks.map((c) => c.delta).join("")).toBe("two says a b c");
    const last = chunks[chunks.length - 1]!;
    expect(last.finishReason).toBe("stop");
    expect(last.provider).toBe("m2");
    expect(last.attempts).toBe(1);
    expect(last.usage?.completionTokens).toBeGreaterThan(0);
  });

  it("rejects malformed requests with INVALID_ARGUMENT naming the field", async () => {
    const { client: c } = client(mocks);
    const cases: [object, RegExp][] = [
      [{ messages: [] }, /messages: at least one message/],
      [{ messages: [{ role: "bot", content: "x" }] }, /messages\[0\]\.role: must be one of/],
      [{ messages: hi, temperature: 2.5 }, /temperature: must be in \[0, 2\], got 2.5/],
      [{ messages: hi, topP: 0 }, /top_p: must be in \(0, 1\]/],
      [{ messages: hi, maxTokens: 0 }, /max_tokens: must be >= 1/],
      [{ messages: hi, stop: ["a", "b", "c", "d", "e"] }, /stop: at most 4/],
      [{ messages: hi, routing: { strategy: "telepathy" } }, /routing\.strategy: unknown strategy "telepathy"/],
      [{ messages: hi, routing: { provider: "nope" } }, /routing\.provider: no provider named "nope"/],
      [{ messages: [{ role: "tool", content: "x" }] }, /messages\[0\]\.tool_call_id: required for role tool/],
      [{ messages: hi, metadata: { priority: "high" } }, /metadata\.priority: must be an integer/],
    ];
    for (const [req, msg] of cases) {
      const err = await codeOf(c.chat(req));
      expect(err.code, JSON.stringify(req)).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toMatch(msg);
    }
  });

  it("answers NOT_FOUND for an unserved model, listing what is served", async () => {
    const { client: c } = client(mocks);
    const err = await codeOf(c.chat({ model: "gpt-9", messages: hi }));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toBe('model "gpt-9" is not served by any provider; served models: mock, other');
  });

  it("ListModels, GetPoolStats and Health describe the pool", async () => {
    const { client: c } = client(mocks);
    await c.chat({ messages: hi });
    const models = await c.listModels({});
    expect(models.defaultModel).toBe("mock");
    expect(models.models.map((m) => [m.name, m.providers])).toEqual([
      ["mock", ["m1", "m2"]],
      ["other", ["m2"]],
    ]);
    expect((await c.listModels({ provider: "m1" })).models.map((m) => m.name)).toEqual(["mock"]);
    const stats = await c.getPoolStats({});
    expect(stats.providers.map((p) => p.name)).toEqual(["m1", "m2"]);
    expect(stats.totals?.requests).toBe(1n);
    expect(stats.providers.reduce((s, p) => s + Number(p.requests), 0)).toBe(1);
    expect(stats.configVersion).toMatch(/^[0-9a-f]{12}$/);
    const health = await c.health({});
    expect(health).toMatchObject({ serving: true, status: "SERVING", healthyProviders: 2, totalProviders: 2, minHealthy: 1 });
  });

  it("fails over to the next provider on a retryable failure", async () => {
    const { client: c, pool } = client({
      pool: { max_retries: 2 },
      providers: [
        { name: "bad", type: "mock", models: ["m"], mock: { latency_ms: 0, failure_rate: 1 } },
        { name: "good", type: "mock", models: ["m"], mock: { latency_ms: 0 } },
      ],
    });
    for (let i = 0; i < 4; i++) {
      const res = await c.chat({ messages: hi });
      expect(res.provider).toBe("good");
    }
    expect(pool.endpoint("bad")!.failures).toBeGreaterThan(0);
    expect(pool.endpoint("good")!.fallbacks).toBeGreaterThan(0);
  });

  it("answers UNAVAILABLE listing each provider's last error when all fail", async () => {
    const { client: c } = client({
      pool: { strategy: "round_robin", max_retries: 1, retry_backoff_ms: { initial: 0, max: 0 } },
      providers: [
        { name: "a", type: "mock", models: ["m"], mock: { latency_ms: 0, failure_rate: 1 } },
        { name: "b", type: "mock", models: ["m"], mock: { latency_ms: 0, failure_rate: 1 } },
      ],
    });
    const err = await codeOf(c.chat({ messages: hi }));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toMatch(/all 2 provider\(s\) tried for model "m" failed after 2 attempt\(s\): a: overloaded \(HTTP 503\): mock failure.*; b: overloaded/);
  });
});

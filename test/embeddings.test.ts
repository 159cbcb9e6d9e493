/**
 * Embeddings end to end: the Embed RPC over Connect and grpc-js, the OpenAI SDK (float and
 * base64) and the ollama client through the doors, against fake OpenAI and Ollama upstreams
 * that serve `embedding_models` apart from chat models; bad input named by field; failover
 * when an upstream dies; pricing, tpm and ListModels kinds.
 */
import { Code } from "@connectrpc/connect";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { EmbedRequestSchema, EmbedResponseSchema } from "../gen/llmpool/v1/llmpool_pb.js";
import { fakeVector } from "./helpers/fake-embeddings.js";
import { startFakeOllama } from "./helpers/fake-ollama.js";
import { createGrpcJsClient } from "./helpers/grpc-js-client.js";
import { failure, harness } from "./helpers/harness.js";
import { user } from "./helpers/server.js";

const h = harness();
const KEY = "gw-embed-key-0123456789";

async function setup(extra: { pool?: Record<string, unknown>; a?: Record<string, unknown> } = {}) {
  const [a] = await h.fakes("emb-openai");
  const b = await startFakeOllama("emb-ollama");
  h.cleanup.push(() => b.close());
  const s = await h.serve({
    server: { auth: { api_keys: [KEY] } },
    pool: { strategy: "priority", embeddings: { max_inputs: 4, max_input_tokens: 50 }, ...extra.pool },
    providers: [
      {
        name: "emb-openai",
        type: "openai",
        base_url: a!.url,
        api_key: "sk-emb-openai-secret-0123456789",
        models: [],
        embedding_models: { "embed-small": "text-embedding-3-small" },
        pricing: { input_per_1m: 20 },
        priority: 1,
        ...extra.a,
      },
      { name: "emb-ollama", type: "ollama", base_url: b.origin, embedding_models: { "embed-small": "nomic-embed-text" }, priority: 2 },
      { name: "chat", type: "mock", models: ["chat-model"], mock: { latency_ms: 1 } },
    ],
  });
  return { s, a: a!, b };
}

const auth = { headers: { authorization: `Bearer ${KEY}` } };

describe("Embed RPC", () => {
  it("over Connect: one vector per input in order, usage, provider, cost", async () => {
    const { s, a } = await setup();
    const res = await s.connect.embed({ model: "embed-small", inputs: ["hello", "wide world"], dimensions: 4, metadata: { tenant: "t1" } }, auth);
    expect(res.embeddings.map((e) => e.values)).toEqual([fakeVector("emb-openai", "hello"), fakeVector("emb-openai", "wide world")]);
    expect(res.embeddings.map((e) => e.index)).toEqual([0, 1]);
    expect(res.provider).toBe("emb-openai");
    expect(res.model).toBe("text-embedding-3-small");
    expect(res.usage).toMatchObject({ promptTokens: 5, completionTokens: 0, totalTokens: 5, estimated: false });
    expect(res.costUsd).toBeCloseTo((5 * 20) / 1e6, 12);
    expect(res.attempts).toBe(1);
    const sent = a.requests.find((r) => r.path.endsWith("/embeddings"))!;
    expect(sent.body).toEqual({ model: "text-embedding-3-small", input: ["hello", "wide world"], encoding_format: "float", dimensions: 4 });
    // The tenant's spend is recorded like a chat call's.
    const stats = await s.connect.getPoolStats({}, auth);
    expect(stats.costByTenant.find((c) => c.key === "t1")?.costUsd).toBeCloseTo(res.costUsd, 12);
  });

  it("over grpc-js, and ListModels says which kind each model is", async () => {
    const { s } = await setup();
    const c = createGrpcJsClient(`127.0.0.1:${s.port}`);
    h.cleanup.push(async () => c.close());
    const res = await c.unary("Embed", EmbedRequestSchema, EmbedResponseSchema, { model: "embed-small", inputs: ["abc"] }, { metadata: { authorization: `Bearer ${KEY}` } });
    expect(res.embeddings[0]!.values).toEqual(fakeVector("emb-openai", "abc"));
    const models = await s.grpc.listModels({}, auth);
    expect(models.models.map((m) => [m.name, m.kind, m.providers])).toEqual([
      ["chat-model", "chat", ["chat"]],
      ["embed-small", "embedding", ["emb-openai", "emb-ollama"]],
    ]);
  });

  it("bad input is INVALID_ARGUMENT naming the field", async () => {
    const { s } = await setup();
    const cases: [Parameters<typeof s.connect.embed>[0], RegExp][] = [
      [{ model: "embed-small", inputs: [] }, /^inputs: at least one input is required$/],
      [{ model: "embed-small", inputs: ["a", "b", "c", "d", "e"] }, /^inputs: at most 4 inputs per request \(pool\.embeddings\.max_inputs\), got 5$/],
      [{ model: "embed-small", inputs: ["ok", ""] }, /^inputs\[1\]: must not be empty$/],
      [{ model: "embed-small", inputs: ["ok", "x".repeat(400)] }, /^inputs\[1\]: about 100 tokens, over the model's limit of 50/],
      [{ model: "chat-model", inputs: ["a"] }, /^model: "chat-model" is a chat model, not an embedding model$/],
      [{ model: "embed-small", inputs: ["a"], dimensions: 0 }, /^dimensions: must be >= 1/],
    ];
    for (const [req, message] of cases) {
      const err = await failure(s.connect.embed(req, auth));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toMatch(message);
    }
    const reverse = await failure(s.connect.chat({ model: "embed-small", messages: [user("hi")] }, auth));
    expect(reverse.code).toBe(Code.InvalidArgument);
    expect(reverse.rawMessage).toMatch(/^model: "embed-small" is an embedding model/);
    const unknown = await failure(s.connect.embed({ model: "nope", inputs: ["a"] }, auth));
    expect(unknown.code).toBe(Code.NotFound);
    expect(unknown.rawMessage).toContain('model "nope" is not served by any provider; served embedding models: embed-small');
  });

  it("fails over to the other embedding provider when the first dies", async () => {
    const { s, a } = await setup();
    await a.kill();
    const res = await s.connect.embed({ model: "embed-small", inputs: ["hello"] }, auth);
    expect(res.provider).toBe("emb-ollama");
    expect(res.embeddings[0]!.values).toEqual(fakeVector("emb-ollama", "hello"));
    expect(res.providersTried).toEqual(["emb-openai", "emb-ollama"]);
  });

  it("tpm counts the inputs' tokens: a provider without room is passed over", async () => {
    const { s } = await setup({ a: { tpm: 10 } });
    const first = await s.connect.embed({ model: "embed-small", inputs: ["x".repeat(36)] }, auth); // ~9 tokens
    expect(first.provider).toBe("emb-openai");
    const second = await s.connect.embed({ model: "embed-small", inputs: ["x".repeat(36)] }, auth);
    expect(second.provider).toBe("emb-ollama");
  });
});

describe("embeddings through the doors", () => {
  it("OpenAI SDK: float and base64 (the SDK's default) give the same vectors", async () => {
    const { s } = await setup();
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const float = await client.embeddings.create({ model: "embed-small", input: ["hello", "wide world"], encoding_format: "float" });
    expect(float.data.map((d) => d.embedding)).toEqual([fakeVector("emb-openai", "hello"), fakeVector("emb-openai", "wide world")]);
    expect(float.usage).toEqual({ prompt_tokens: 5, total_tokens: 5 });
    const b64 = await client.embeddings.create({ model: "embed-small", input: "hello" });
    expect(b64.data[0]!.embedding).toEqual(fakeVector("emb-openai", "hello"));
    // Raw: base64 of little-endian float32s.
    const raw = await fetch(`${s.url}/v1/embeddings`, { method: "POST", headers: { authorization: `Bearer ${KEY}` }, body: JSON.stringify({ model: "embed-small", input: "hello", encoding_format: "base64" }) });
    expect(raw.headers.get("x-llmpool-provider")).toBe("emb-openai");
    const body = (await raw.json()) as { data: { embedding: string }[] };
    const bytes = Buffer.from(body.data[0]!.embedding, "base64");
    expect([...new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)]).toEqual(fakeVector("emb-openai", "hello"));
    const bad = await client.embeddings.create({ model: "chat-model", input: "x" }).catch((e) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect(bad.param).toBe("model");
    const wrongKey = await new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "wrong-key-0123456789", maxRetries: 0 }).embeddings.create({ model: "embed-small", input: "x" }).catch((e) => e);
    expect(wrongKey).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it("ollama client: embed and the older embeddings", async () => {
    const { s } = await setup();
    const c = new Ollama({ host: s.url, headers: { authorization: `Bearer ${KEY}` } });
    const res = await c.embed({ model: "embed-small", input: ["hello", "wide world"] });
    expect(res.embeddings).toEqual([fakeVector("emb-openai", "hello"), fakeVector("emb-openai", "wide world")]);
    expect(res.model).toBe("embed-small");
    const old = await c.embeddings({ model: "embed-small", prompt: "hello" });
    expect(old.embedding).toEqual(fakeVector("emb-openai", "hello"));
    const empty = await c.embed({ model: "embed-small", input: [] }).catch((e) => e);
    expect(empty).toMatchObject({ status_code: 400 });
    expect(empty.error).toContain("inputs: at least one input is required");
  });
});

/**
 * Provider facts the pool reads: `capabilities.prefill` (whether the upstream continues an
 * assistant prefill) with its per-type defaults and config override, vLLM's
 * `continue_final_message` on prefilled calls, and `capacity` (the connection pool size).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateConfig } from "../../src/config/load.js";
import { startFakeOpenAI, type FakeUpstream } from "../helpers/fake-openai.js";
import { adapterFor, callOf, user } from "./util.js";

const base = (type: string, extra: Record<string, unknown> = {}) => {
  const r: Record<string, unknown> = { name: `p-${type}`, type, models: ["m"], ...extra };
  if (!["mock", "ollama", "lmstudio", "vllm", "ollama-openai", "bedrock"].includes(type)) r.api_key = "k-0000000000";
  if (type === "azure") r.base_url = "https://res.openai.azure.com";
  if (type === "bedrock") Object.assign(r, { region: "us-east-1", aws_access_key_id: "AKIDFAKE0000", aws_secret_access_key: "fake-secret-000000000000" });
  return r;
};

describe("capabilities.prefill", () => {
  const documented = ["anthropic", "bedrock", "vllm", "mock"];
  const others = ["openai", "azure", "groq", "together", "openrouter", "lmstudio", "ollama-openai", "gemini", "cohere", "ollama"];

  it.each(documented)("%s continues a prefill by default", async (type) => {
    const p = adapterFor(base(type));
    expect(p.capabilities.prefill).toBe(true);
    await p.close();
  });

  it.each(others)("%s does not unless configured", async (type) => {
    const p = adapterFor(base(type));
    expect(p.capabilities.prefill).toBe(false);
    await p.close();
    const on = adapterFor(base(type, { capabilities: { prefill: true } }));
    expect(on.capabilities.prefill).toBe(true);
    await on.close();
  });

  it("can be turned off where it is the default", async () => {
    const p = adapterFor(base("anthropic", { capabilities: { prefill: false } }));
    expect(p.capabilities.prefill).toBe(false);
    await p.close();
  });

  it("is a boolean (a config error names the path)", () => {
    expect(() => validateConfig({ providers: [base("openai", { capabilities: { prefill: "yes" } })] }, "test", {})).toThrow(/providers\[0\]\.capabilities\.prefill/);
  });
});

describe("vllm continue_final_message", () => {
  let up: FakeUpstream;
  beforeAll(async () => {
    up = await startFakeOpenAI("vllm");
    up.behave({ reply: " world" });
  });
  afterAll(() => up.close());

  it("asks vLLM to continue the prefill, and only on prefilled calls", async () => {
    const p = adapterFor({ name: "v", type: "vllm", base_url: up.url, models: ["m"] });
    try {
      await p.chat(callOf({ messages: [user("say hello world")] }, "m", "hello"));
      await p.chat(callOf({ messages: [user("say hello world")] }, "m"));
      const [withPrefill, plain] = up.chatRequests().slice(-2).map((r) => r.body as Record<string, unknown>);
      expect(withPrefill).toMatchObject({ continue_final_message: true, add_generation_prompt: false });
      expect((withPrefill!.messages as { role: string; content: string }[]).at(-1)).toEqual({ role: "assistant", content: "hello" });
      expect(plain).not.toHaveProperty("continue_final_message");
      expect(plain).not.toHaveProperty("add_generation_prompt");
    } finally {
      await p.close();
    }
  });

  it("is not sent by other OpenAI-compatible presets", async () => {
    const p = adapterFor({ name: "g", type: "lmstudio", base_url: up.url, models: ["m"] });
    try {
      await p.chat(callOf({ messages: [user("x")] }, "m", "hello"));
      expect(up.chatRequests().at(-1)!.body).not.toHaveProperty("continue_final_message");
    } finally {
      await p.close();
    }
  });
});

describe("capacity", () => {
  it("is the configured connection pool size of HTTP adapters", async () => {
    for (const type of ["openai", "anthropic", "gemini", "cohere", "ollama", "bedrock", "azure"]) {
      const p = adapterFor(base(type, { connections: 7 }));
      expect(p.capacity, type).toBe(7);
      await p.close();
    }
    const d = adapterFor(base("groq"));
    expect(d.capacity).toBe(128);
    await d.close();
  });

  it("is undefined (unbounded) for the mock", async () => {
    const p = adapterFor(base("mock"));
    expect(p.capacity).toBeUndefined();
    await p.close();
  });
});

describe("size cap keys", () => {
  it("default to 8 MiB per answer and 1 MiB per stream event", () => {
    const cfg = validateConfig({ providers: [base("openai")] }, "test", {}).config.providers[0]!;
    expect(cfg.max_response_bytes).toBe(8 * 1024 * 1024);
    expect(cfg.max_stream_event_bytes).toBe(1024 * 1024);
  });

  it("reject a non-positive or non-integer size, naming the path", () => {
    expect(() => validateConfig({ providers: [base("openai", { max_response_bytes: 0 })] }, "test", {})).toThrow(/providers\[0\]\.max_response_bytes/);
    expect(() => validateConfig({ providers: [base("openai", { max_stream_event_bytes: "1MB" })] }, "test", {})).toThrow(/providers\[0\]\.max_stream_event_bytes/);
  });
});

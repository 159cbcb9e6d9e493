/**
 * Azure OpenAI adapter against its fake resource: deployment paths, api-version, api-key
 * header, max_completion_tokens by version, the prompt-filter first chunk, retry-after-ms,
 * content-filter errors, discovery of deployments.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startFakeAzure } from "../helpers/fake-azure.js";
import type { Fake } from "../helpers/fake-upstream.js";
import { startServer } from "../helpers/server.js";
import { adapterFor, callOf, collect, providerError, textOf, user } from "./util.js";

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
const KEY = "0123456789abcdef0123456789abcdef";
async function fake(): Promise<Fake> {
  const f = await startFakeAzure("azure", KEY, ["gpt4o-prod", "mini-eu"]);
  cleanup.push(() => f.close());
  return f;
}
const cfg = (f: Fake, extra: Record<string, unknown> = {}) => ({
  name: "az",
  type: "azure",
  base_url: f.origin,
  api_key: KEY,
  models: { smart: "gpt-4o", fast: "gpt-4o-mini" },
  deployments: { "gpt-4o": "gpt4o-prod", "gpt-4o-mini": "mini-eu" },
  ...extra,
});

describe("azure adapter", () => {
  it("calls the deployment of the requested model with api-version and api-key", async () => {
    const f = await fake();
    const s = await startServer({ providers: [cfg(f)] });
    cleanup.push(() => s.close());
    await s.grpc.chat({ model: "fast", messages: [user("hi")], maxTokens: 9 });
    const rec = f.chatRequests()[0]!;
    expect(rec.path).toBe("/openai/deployments/mini-eu/chat/completions?api-version=2024-10-21");
    expect(rec.headers["api-key"]).toBe(KEY);
    expect(rec.headers.authorization).toBeUndefined();
    expect(rec.body).toMatchObject({ model: "gpt-4o-mini", max_completion_tokens: 9 });
    const old = adapterFor(cfg(f, { api_version: "2024-06-01" }));
    cleanup.push(() => old.close());
    await old.chat(callOf({ messages: [user("hi")], maxTokens: 9 }, "gpt-4o"));
    expect(f.chatRequests()[1]!.path).toBe("/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-06-01");
    expect(f.chatRequests()[1]!.body.max_tokens).toBe(9);
  });

  it("streams past Azure's prompt-filter chunk, with usage and a prefill", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    f.behave({ chunks: ["con", "tinued"], usage: { prompt: 3, completion: 2 } });
    const events = await collect(p.stream(callOf({ messages: [user("hi")] }, "gpt-4o", "I ")));
    expect(textOf(events)).toBe("continued");
    expect(events.at(-1)!.usage).toEqual({ promptTokens: 3, completionTokens: 2, cachedTokens: 0 });
    expect(f.chatRequests()[0]!.body.messages.at(-1)).toEqual({ role: "assistant", content: "I " });
  });

  it("classifies 429 with retry-after-ms, content filtering and a bad key", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    f.behave({
      status: 429,
      headers: { "retry-after-ms": "1500", "x-ratelimit-remaining-requests": "0", "x-ratelimit-remaining-tokens": "100" },
      errorBody: { error: { code: "429", message: "Requests to the ChatCompletions_Create Operation have exceeded call rate limit." } },
    });
    const e = await providerError(p.chat(callOf({ messages: [user("hi")] }, "gpt-4o")));
    expect(e).toMatchObject({ kind: "rate_limited", retryAfterMs: 1500, rateLimit: { remainingRequests: 0, remainingTokens: 100 } });
    f.behave({
      status: 400,
      errorBody: { error: { code: "content_filter", message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.", innererror: { code: "ResponsibleAIPolicyViolation" } } },
    });
    expect(await providerError(p.chat(callOf({ messages: [user("hi")] }, "gpt-4o")))).toMatchObject({ kind: "content_filter", scope: "provider" });
    const bad = adapterFor(cfg(f, { api_key: "wrong-key-0000000000" }));
    cleanup.push(() => bad.close());
    expect(await providerError(bad.chat(callOf({ messages: [user("hi")] }, "gpt-4o")))).toMatchObject({ kind: "auth", status: 401 });
  });

  it("discovers deployments when discover_models is set", async () => {
    const f = await fake();
    const s = await startServer({ providers: [{ name: "az", type: "azure", base_url: f.origin, api_key: KEY, discover_models: true }] });
    cleanup.push(() => s.close());
    expect((await s.grpc.listModels({})).models.map((m) => m.name)).toEqual(["gpt4o-prod", "mini-eu"]);
    await s.grpc.chat({ model: "mini-eu", messages: [user("x")] });
    expect(f.chatRequests()[0]!.path).toMatch(/^\/openai\/deployments\/mini-eu\/chat\/completions/);
  });
});

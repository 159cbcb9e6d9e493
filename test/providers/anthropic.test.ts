/**
 * Anthropic Messages API adapter against its fake: headers, max_tokens default, system lift,
 * rate-limit headers, error classification (429 / 529 / overloaded_error / prompt too long /
 * 401), the named-event stream and its error event, prefill, discovery.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { anthropicError, startFakeAnthropic } from "../helpers/fake-anthropic.js";
import type { Fake } from "../helpers/fake-upstream.js";
import { startServer } from "../helpers/server.js";
import { adapterFor, callOf, collect, providerError, textOf, user } from "./util.js";

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
async function fake(): Promise<Fake> {
  const f = await startFakeAnthropic("anthropic", ["claude-3-5-haiku-latest", "claude-sonnet-4-0"]);
  cleanup.push(() => f.close());
  return f;
}
const cfg = (f: Fake, extra: Record<string, unknown> = {}) => ({
  name: "claude",
  type: "anthropic",
  base_url: f.origin,
  api_key: "sk-ant-test-key-0123456789",
  models: ["claude-3-5-haiku-latest"],
  ...extra,
});

describe("anthropic adapter", () => {
  it("sends max_tokens 4096 when neither the request nor default_max_tokens sets one; default_temperature fills in", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f, { default_temperature: 0.4 }));
    cleanup.push(() => p.close());
    await p.chat(callOf({ messages: [user("hi")] }, "claude-3-5-haiku-latest"));
    await p.chat(callOf({ messages: [user("hi")], temperature: 0.8, maxTokens: 9 }, "claude-3-5-haiku-latest"));
    const [a, b] = f.chatRequests();
    expect([a!.body.max_tokens, a!.body.temperature]).toEqual([4096, 0.4]);
    expect([b!.body.max_tokens, b!.body.temperature]).toEqual([9, 0.8]);
  });

  it("sends x-api-key, anthropic-version and a default max_tokens; lifts the system prompt", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f, { default_max_tokens: 1024 }));
    cleanup.push(() => p.close());
    await p.chat(callOf({ messages: [{ role: "system", content: "Be terse." }, user("hi")], stop: ["END"], topP: 0.5 }, "claude-3-5-haiku-latest"));
    const rec = f.chatRequests()[0]!;
    expect(rec.headers["x-api-key"]).toBe("sk-ant-test-key-0123456789");
    expect(rec.headers["anthropic-version"]).toBe("2023-06-01");
    expect(rec.body).toEqual({
      model: "claude-3-5-haiku-latest",
      max_tokens: 1024,
      system: [{ type: "text", text: "Be terse." }],
      messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
      stop_sequences: ["END"],
      top_p: 0.5,
    });
    const v = adapterFor(cfg(f, { api_version: "2024-01-01" }));
    cleanup.push(() => v.close());
    await v.chat(callOf({ messages: [user("hi")], maxTokens: 7 }, "m"));
    expect(f.chatRequests()[1]!.headers["anthropic-version"]).toBe("2024-01-01");
    expect(f.chatRequests()[1]!.body.max_tokens).toBe(7);
  });

  it("merges consecutive tool results into one user turn and maps image URLs to url sources", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    await p.chat(
      callOf(
        {
          messages: [
            { role: "user", content: "look", parts: [{ part: { case: "image", value: { source: { case: "url", value: "https://example.com/cat.png" } } } }] },
            { role: "assistant", content: "Checking.", toolCalls: [{ id: "a", name: "f", arguments: '{"x":1}' }, { id: "b", name: "g", arguments: "" }] },
            { role: "tool", toolCallId: "a", content: "one" },
            { role: "tool", toolCallId: "b", content: "two" },
          ],
        },
        "m",
      ),
    );
    expect(f.chatRequests()[0]!.body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "look" }, { type: "image", source: { type: "url", url: "https://example.com/cat.png" } }] },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Checking." },
          { type: "tool_use", id: "a", name: "f", input: { x: 1 } },
          { type: "tool_use", id: "b", name: "g", input: {} },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "a", content: "one" },
          { type: "tool_result", tool_use_id: "b", content: "two" },
        ],
      },
    ]);
  });

  it("surfaces anthropic-ratelimit-* headers on results, first stream events and errors", async () => {
    const f = await fake();
    const reset = new Date(Date.now() + 30_000).toISOString();
    const headers = {
      "anthropic-ratelimit-requests-limit": "50",
      "anthropic-ratelimit-requests-remaining": "49",
      "anthropic-ratelimit-requests-reset": reset,
      "anthropic-ratelimit-tokens-limit": "40000",
      "anthropic-ratelimit-tokens-remaining": "39000",
      "anthropic-ratelimit-tokens-reset": reset,
    };
    f.behave({ headers, usage: { prompt: 12, completion: 3, cached: 8 } });
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    const r = await p.chat(callOf({ messages: [user("hi")] }, "m"));
    expect(r.rateLimit).toMatchObject({ limitRequests: 50, remainingRequests: 49, limitTokens: 40000, remainingTokens: 39000 });
    expect(r.rateLimit!.resetRequestsMs).toBeGreaterThan(25_000);
    expect(r.usage).toEqual({ promptTokens: 12, completionTokens: 3, cachedTokens: 8 });
    const events = await collect(p.stream(callOf({ messages: [user("hi")] }, "m")));
    expect(events[0]!.rateLimit).toMatchObject({ remainingRequests: 49 });
    expect(events.at(-1)!.usage).toEqual({ promptTokens: 12, completionTokens: 3, cachedTokens: 8 });
    f.behave({ status: 429, headers: { ...headers, "retry-after": "7" }, errorBody: anthropicError("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit") });
    const e = await providerError(p.chat(callOf({ messages: [user("hi")] }, "m")));
    expect(e).toMatchObject({ kind: "rate_limited", scope: "transient", status: 429, retryAfterMs: 7000 });
    expect(e.rateLimit).toMatchObject({ remainingTokens: 39000 });
  });

  it.each([
    [529, "overloaded_error", "Overloaded", "overloaded", "transient"],
    [500, "api_error", "Internal server error", "server", "transient"],
    [400, "invalid_request_error", "prompt is too long: 215000 tokens > 200000 maximum", "context_length", "provider"],
    [400, "invalid_request_error", "messages: roles must alternate", "bad_request", "request"],
    [401, "authentication_error", "invalid x-api-key", "auth", "provider"],
    [403, "permission_error", "Your API key does not have permission", "auth", "provider"],
    [404, "not_found_error", "model: claude-9", "not_found", "provider"],
  ])("classifies HTTP %i %s", async (status, type, message, kind, scope) => {
    const f = await fake();
    f.behave({ status, errorBody: anthropicError(type, message) });
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    const e = await providerError(p.chat(callOf({ messages: [user("hi")] }, "m")));
    expect(e).toMatchObject({ kind, scope, status });
    expect(e.message).toContain(type);
  });

  it("ends a stream with a classified error on `event: error`, and on a missing message_stop", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    f.behave({ chunks: ["a ", "b ", "c "], errorAfterChunks: 2 });
    const events: string[] = [];
    const e = await providerError(
      (async function* () {
        for await (const ev of p.stream(callOf({ messages: [user("hi")] }, "m"))) {
          if (ev.delta) events.push(ev.delta);
          yield ev;
        }
      })(),
    );
    expect(events.join("")).toBe("a b ");
    expect(e).toMatchObject({ kind: "overloaded", scope: "transient" });
    expect(e.message).toMatch(/error event in stream: overloaded_error: Overloaded/);
    f.behave({ chunks: ["a ", "b "], truncateAfterChunks: 1 });
    expect(await providerError(p.stream(callOf({ messages: [user("hi")] }, "m")))).toMatchObject({ kind: "stream" });
  });

  it("sends the prefill as a final assistant turn without trailing whitespace and continues it", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    f.behave({ chunks: [" world", " again."] });
    const events = await collect(p.stream(callOf({ messages: [user("greet")] }, "m", "Hello ")));
    expect(f.chatRequests()[0]!.body.messages.at(-1)).toEqual({ role: "assistant", content: [{ type: "text", text: "Hello" }] });
    // The caller already has "Hello "; the continuation must not repeat the space.
    expect(textOf(events)).toBe("world again.");
    f.behave({ reply: " there." });
    const r = await p.chat(callOf({ messages: [user("greet")] }, "m", "Hi"));
    expect(f.chatRequests()[1]!.body.messages.at(-1)).toEqual({ role: "assistant", content: [{ type: "text", text: "Hi" }] });
    expect(r.content).toBe(" there.");
  });

  it("discovers models from /v1/models for ListModels, and probes cheaply", async () => {
    const f = await fake();
    const s = await startServer({ providers: [cfg(f, { models: [], discover_models: true })] });
    cleanup.push(() => s.close());
    expect((await s.grpc.listModels({})).models.map((m) => m.name)).toEqual(["claude-3-5-haiku-latest", "claude-sonnet-4-0"]);
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    await p.probe!(AbortSignal.timeout(2000));
    expect(f.requests.at(-1)!.path).toBe("/v1/models?limit=1");
    expect(f.requests.at(-1)!.headers["x-api-key"]).toBe("sk-ant-test-key-0123456789");
  });

  it("retries an overloaded Anthropic on another provider through the pool", async () => {
    const [a, b] = [await fake(), await fake()];
    a.behave({ status: 529, errorBody: anthropicError("overloaded_error", "Overloaded") });
    const s = await startServer({ pool: { strategy: "round_robin" }, providers: [cfg(a, { name: "a" }), cfg(b, { name: "b" })] });
    cleanup.push(() => s.close());
    const res = await s.grpc.chat({ messages: [user("hi")] });
    expect(res.provider).toBe("b");
    a.behave({ status: 400, errorBody: anthropicError("invalid_request_error", "messages.0.content: bad") });
    b.behave({ status: 400, errorBody: anthropicError("invalid_request_error", "messages.0.content: bad") });
    const err = ConnectError.from(await s.grpc.chat({ messages: [user("hi")] }).catch((e) => e));
    expect(err.code).toBe(Code.InvalidArgument);
  });
});

/**
 * Gemini adapter against its fake: key header and paths, roles, tool choice, image URLs as
 * fileData, RetryInfo and API_KEY_INVALID classification, stream error chunks, prefill as a
 * trailing model turn, discovery.
 */
import { afterEach, describe, expect, it } from "vitest";
import { geminiError, startFakeGemini } from "../helpers/fake-gemini.js";
import type { Fake } from "../helpers/fake-upstream.js";
import { startServer } from "../helpers/server.js";
import { adapterFor, callOf, collect, providerError, user } from "./util.js";

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
async function fake(): Promise<Fake> {
  const f = await startFakeGemini("gemini", ["gemini-2.0-flash", "gemini-2.5-pro"]);
  cleanup.push(() => f.close());
  return f;
}
const KEY = "AIzaSyFAKE-gemini-key-0123456789abcdefgh";
const cfg = (f: Fake, extra: Record<string, unknown> = {}) => ({ name: "gem", type: "gemini", base_url: `${f.origin}/v1beta`, api_key: KEY, models: ["gemini-2.0-flash"], ...extra });

describe("gemini adapter", () => {
  it("posts to models/{model}:generateContent with x-goog-api-key and maps roles and settings", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    await p.chat(
      callOf(
        {
          messages: [{ role: "system", content: "Be terse." }, user("hi"), { role: "assistant", content: "Hello." }, user("again")],
          temperature: 0.3,
          topP: 0.9,
          maxTokens: 64,
          stop: ["\n"],
          seed: 7n,
          responseFormat: { type: "json_object" },
          tools: [{ name: "f", parameters: { type: "object", properties: {} } }, { name: "g" }],
          toolChoice: { mode: "function", functionName: "g" },
        },
        "gemini-2.0-flash",
      ),
    );
    const rec = f.chatRequests()[0]!;
    expect(rec.path).toBe("/v1beta/models/gemini-2.0-flash:generateContent");
    expect(rec.headers["x-goog-api-key"]).toBe(KEY);
    expect(rec.body.contents).toEqual([
      { role: "user", parts: [{ text: "hi" }] },
      { role: "model", parts: [{ text: "Hello." }] },
      { role: "user", parts: [{ text: "again" }] },
    ]);
    expect(rec.body.systemInstruction).toEqual({ parts: [{ text: "Be terse." }] });
    expect(rec.body.generationConfig).toEqual({ temperature: 0.3, topP: 0.9, maxOutputTokens: 64, stopSequences: ["\n"], seed: 7, responseMimeType: "application/json" });
    expect(rec.body.toolConfig).toEqual({ functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["g"] } });
  });

  it("sends image URLs as fileData with a MIME type, and tool results by function name", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    await p.chat(
      callOf(
        {
          messages: [
            { role: "user", parts: [{ part: { case: "image", value: { source: { case: "url", value: "https://example.com/a/cat.webp?x=1" } } } }] },
            { role: "assistant", toolCalls: [{ id: "c1", name: "lookup", arguments: '{"q":"cat"}' }] },
            { role: "tool", toolCallId: "c1", content: "a small cat" },
          ],
        },
        "gemini-2.0-flash",
      ),
    );
    expect(f.chatRequests()[0]!.body.contents).toEqual([
      { role: "user", parts: [{ fileData: { mimeType: "image/webp", fileUri: "https://example.com/a/cat.webp?x=1" } }] },
      { role: "model", parts: [{ functionCall: { name: "lookup", args: { q: "cat" } } }] },
      { role: "user", parts: [{ functionResponse: { name: "lookup", response: { output: "a small cat" } } }] },
    ]);
  });

  it("reads RetryInfo retryDelay on 429 and treats API_KEY_INVALID as a bad key", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    f.behave({
      status: 429,
      errorBody: geminiError(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and billing details.", [
        { "@type": "type.googleapis.com/google.rpc.QuotaFailure", violations: [{ quotaMetric: "generate_content_free_tier_requests" }] },
        { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "37s" },
      ]),
    });
    expect(await providerError(p.chat(callOf({ messages: [user("hi")] }, "gemini-2.0-flash")))).toMatchObject({ kind: "rate_limited", scope: "transient", retryAfterMs: 37_000 });
    f.behave({
      status: 400,
      errorBody: geminiError(400, "INVALID_ARGUMENT", `API key not valid. Please pass a valid API key. (${KEY})`, [
        { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", domain: "googleapis.com" },
      ]),
    });
    const bad = await providerError(p.chat(callOf({ messages: [user("hi")] }, "gemini-2.0-flash")));
    expect(bad).toMatchObject({ kind: "auth", scope: "provider" });
    expect(bad.message).not.toContain(KEY);
    f.behave({ status: 400, errorBody: geminiError(400, "INVALID_ARGUMENT", "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).") });
    expect(await providerError(p.chat(callOf({ messages: [user("hi")] }, "gemini-2.0-flash")))).toMatchObject({ kind: "context_length" });
    f.behave({ status: 503, errorBody: geminiError(503, "UNAVAILABLE", "The model is overloaded.") });
    expect(await providerError(p.chat(callOf({ messages: [user("hi")] }, "gemini-2.0-flash")))).toMatchObject({ kind: "overloaded", scope: "transient" });
  });

  it("streams with alt=sse, fails on an error chunk and on a stream without finishReason", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    f.behave({ chunks: ["a", "b"], usage: { prompt: 4, completion: 2, cached: 1 } });
    const events = await collect(p.stream(callOf({ messages: [user("hi")] }, "gemini-2.0-flash")));
    expect(f.chatRequests()[0]!.path).toBe("/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse");
    expect(events.at(-1)).toMatchObject({ finishReason: "stop", rawFinishReason: "STOP", usage: { promptTokens: 4, completionTokens: 2, cachedTokens: 1 } });
    f.behave({ chunks: ["a", "b", "c"], errorAfterChunks: 1 });
    expect(await providerError(p.stream(callOf({ messages: [user("hi")] }, "gemini-2.0-flash")))).toMatchObject({ kind: "overloaded" });
    f.behave({ chunks: ["a", "b", "c"], truncateAfterChunks: 2 });
    expect(await providerError(p.stream(callOf({ messages: [user("hi")] }, "gemini-2.0-flash")))).toMatchObject({ kind: "stream" });
  });

  it("maps SAFETY to content_filter and a blocked prompt to a content_filter error", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    f.behave({ finish: "SAFETY", reply: "" });
    expect(await p.chat(callOf({ messages: [user("hi")] }, "gemini-2.0-flash"))).toMatchObject({ finishReason: "content_filter", rawFinishReason: "SAFETY" });
  });

  it("sends the prefill as a trailing model turn", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    await collect(p.stream(callOf({ messages: [user("count")] }, "gemini-2.0-flash", "1, 2, ")));
    expect(f.chatRequests()[0]!.body.contents.at(-1)).toEqual({ role: "model", parts: [{ text: "1, 2, " }] });
  });

  it("discovers generateContent models without the models/ prefix", async () => {
    const f = await fake();
    const s = await startServer({ providers: [cfg(f, { models: [], discover_models: true })] });
    cleanup.push(() => s.close());
    expect((await s.grpc.listModels({})).models.map((m) => m.name)).toEqual(["gemini-2.0-flash", "gemini-2.5-pro"]);
    const res = await s.grpc.chat({ model: "gemini-2.5-pro", messages: [user("x")] });
    expect(res.model).toBe("gemini-2.5-pro");
  });
});

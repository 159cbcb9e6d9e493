/**
 * Cohere v2 adapter against its fake: bearer key, parameter names, tool choice emulation,
 * billed units, SSE stream with tool-call events and an ERROR message-end, trial rate-limit
 * headers, error bodies, discovery.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startFakeCohere } from "../helpers/fake-cohere.js";
import type { Fake } from "../helpers/fake-upstream.js";
import { startServer } from "../helpers/server.js";
import { adapterFor, callOf, collect, providerError, user } from "./util.js";

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
async function fake(): Promise<Fake> {
  const f = await startFakeCohere("cohere", ["command-r-plus", "command-a-03-2025"]);
  cleanup.push(() => f.close());
  return f;
}
const KEY = "co-live-key-0123456789abcdef";
const cfg = (f: Fake, extra: Record<string, unknown> = {}) => ({ name: "co", type: "cohere", base_url: f.origin, api_key: KEY, models: ["command-r-plus"], ...extra });

describe("cohere adapter", () => {
  it("posts /v2/chat with Cohere's parameter names and emulates a named tool choice", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    const r = await p.chat(
      callOf(
        {
          messages: [{ role: "system", content: "Be terse." }, user("hi")],
          temperature: 0.4,
          topP: 0.9,
          maxTokens: 30,
          stop: ["END"],
          tools: [{ name: "a" }, { name: "b", description: "B" }],
          toolChoice: { mode: "function", functionName: "b" },
        },
        "command-r-plus",
      ),
    );
    const rec = f.chatRequests()[0]!;
    expect(rec.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(rec.body).toEqual({
      model: "command-r-plus",
      messages: [
        { role: "system", content: "Be terse." },
        { role: "user", content: "hi" },
      ],
      stream: false,
      temperature: 0.4,
      p: 0.9,
      max_tokens: 30,
      stop_sequences: ["END"],
      tools: [{ type: "function", function: { name: "b", description: "B", parameters: { type: "object", properties: {} } } }],
      tool_choice: "REQUIRED",
    });
    // billed_units, not the raw token counts (which include Cohere's own preamble).
    expect(r.usage).toEqual({ promptTokens: 10, completionTokens: 3, cachedTokens: 0 });
    expect(r).toMatchObject({ id: "co-cohere-1", finishReason: "stop", rawFinishReason: "COMPLETE" });
  });

  it("sends assistant tool calls with tool_plan and tool results by id", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    await p.chat(callOf({ messages: [user("w?"), { role: "assistant", content: "Let me check.", toolCalls: [{ id: "t1", name: "w", arguments: '{"c":"x"}' }] }, { role: "tool", toolCallId: "t1", content: "ok" }], tools: [{ name: "w" }] }, "command-r-plus"));
    expect(f.chatRequests()[0]!.body.messages.slice(1)).toEqual([
      { role: "assistant", tool_plan: "Let me check.", tool_calls: [{ id: "t1", type: "function", function: { name: "w", arguments: '{"c":"x"}' } }] },
      { role: "tool", tool_call_id: "t1", content: "ok" },
    ]);
  });

  it("fails a stream whose message-end says ERROR, and one cut before message-end", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    f.behave({ chunks: ["a", "b", "c"], errorAfterChunks: 1 });
    expect(await providerError(p.stream(callOf({ messages: [user("hi")] }, "command-r-plus")))).toMatchObject({ kind: "stream" });
    f.behave({ chunks: ["a", "b", "c"], dropAfterChunks: 2 });
    expect((await providerError(p.stream(callOf({ messages: [user("hi")] }, "command-r-plus")))).scope).toBe("transient");
    f.behave({ usage: { prompt: 5, completion: 2 } });
    const events = await collect(p.stream(callOf({ messages: [user("hi")] }, "command-r-plus", "So")));
    expect(events[0]).toMatchObject({ id: "co-cohere-3", model: "command-r-plus" });
    expect(events.at(-1)).toMatchObject({ finishReason: "stop", usage: { promptTokens: 5, completionTokens: 2 } });
    expect(f.chatRequests()[2]!.body.messages.at(-1)).toEqual({ role: "assistant", content: "So" });
    expect(f.chatRequests()[2]!.headers.accept).toBe("text/event-stream");
  });

  it("reads trial-key rate-limit headers and classifies errors", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    f.behave({ headers: { "x-trial-endpoint-call-limit": "10", "x-trial-endpoint-call-remaining": "9" } });
    expect((await p.chat(callOf({ messages: [user("hi")] }, "command-r-plus"))).rateLimit).toEqual({ limitRequests: 10, remainingRequests: 9 });
    f.behave({ status: 429, headers: { "retry-after": "2" }, errorBody: { id: "x", message: "You are using a Trial key, which is limited to 10 API calls / minute." } });
    expect(await providerError(p.chat(callOf({ messages: [user("hi")] }, "command-r-plus")))).toMatchObject({ kind: "rate_limited", retryAfterMs: 2000 });
    f.behave({ status: 401, errorBody: { id: "x", message: `invalid api token ${KEY}` } });
    const e = await providerError(p.chat(callOf({ messages: [user("hi")] }, "command-r-plus")));
    expect(e).toMatchObject({ kind: "auth", scope: "provider" });
    expect(e.message).not.toContain(KEY);
    f.behave({ status: 400, errorBody: { id: "x", message: "too many tokens: total number of tokens in the prompt cannot exceed 128000" } });
    expect(await providerError(p.chat(callOf({ messages: [user("hi")] }, "command-r-plus")))).toMatchObject({ kind: "context_length" });
  });

  it("discovers chat models from /v1/models?endpoint=chat", async () => {
    const f = await fake();
    const s = await startServer({ providers: [cfg(f, { models: [], discover_models: true })] });
    cleanup.push(() => s.close());
    expect((await s.grpc.listModels({})).models.map((m) => m.name)).toEqual(["command-a-03-2025", "command-r-plus"]);
    expect(f.requests[0]!.path).toMatch(/^\/v1\/models\?endpoint=chat/);
  });
});

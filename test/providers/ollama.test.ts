/**
 * Native Ollama adapter against its fake: explicit `stream`, options, keep_alive, images as
 * base64, image URLs routed away, NDJSON stream with an error line, 404 model not found,
 * discovery from /api/tags, probe on /api/version.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { startFakeAnthropic } from "../helpers/fake-anthropic.js";
import { startFakeOllama } from "../helpers/fake-ollama.js";
import type { Fake } from "../helpers/fake-upstream.js";
import { startServer } from "../helpers/server.js";
import { adapterFor, callOf, collect, providerError, textOf, user } from "./util.js";

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
async function fake(): Promise<Fake> {
  const f = await startFakeOllama("ollama", ["llama3.2:latest", "qwen2.5:7b"]);
  cleanup.push(() => f.close());
  return f;
}
const cfg = (f: Fake, extra: Record<string, unknown> = {}) => ({ name: "local", type: "ollama", base_url: f.origin, models: ["llama3.2:latest"], ...extra });

describe("ollama adapter", () => {
  it("always sends stream explicitly, sampling under options, keep_alive and JSON format", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f, { keep_alive: "10m" }));
    cleanup.push(() => p.close());
    const r = await p.chat(callOf({ messages: [user("hi")], temperature: 0.1, maxTokens: 20, topP: 0.8, stop: ["x"], seed: 3n, responseFormat: { type: "json_object" } }, "llama3.2:latest"));
    expect(r).toMatchObject({ content: "Hello from ollama", finishReason: "stop", usage: { promptTokens: 10, completionTokens: 3 } });
    expect(f.chatRequests()[0]!.body).toEqual({
      model: "llama3.2:latest",
      messages: [{ role: "user", content: "hi" }],
      stream: false,
      options: { temperature: 0.1, top_p: 0.8, num_predict: 20, stop: ["x"], seed: 3 },
      format: "json",
      keep_alive: "10m",
    });
    expect(f.chatRequests()[0]!.headers.authorization).toBeUndefined();
    const events = await collect(p.stream(callOf({ messages: [user("hi")] }, "llama3.2:latest")));
    expect(f.chatRequests()[1]!.body.stream).toBe(true);
    expect(textOf(events)).toBe("Hello from ollama");
    expect(events.at(-1)).toMatchObject({ finishReason: "stop", rawFinishReason: "stop", usage: { promptTokens: 10 } });
  });

  it("ends the NDJSON stream with an error on an error line or a missing done line", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    f.behave({ chunks: ["a", "b", "c"], errorAfterChunks: 2 });
    const e = await providerError(p.stream(callOf({ messages: [user("hi")] }, "llama3.2:latest")));
    expect(e).toMatchObject({ kind: "stream", scope: "transient" });
    expect(e.message).toMatch(/error event in stream: an error was encountered/);
    f.behave({ chunks: ["a", "b"], truncateAfterChunks: 1 });
    expect(await providerError(p.stream(callOf({ messages: [user("hi")] }, "llama3.2:latest")))).toMatchObject({ kind: "stream" });
  });

  it("classifies a missing model as not_found (another provider may have it)", async () => {
    const f = await fake();
    f.behave({ status: 404, errorBody: { error: 'model "nope" not found, try pulling it first' } });
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    const e = await providerError(p.chat(callOf({ messages: [user("hi")] }, "nope")));
    expect(e).toMatchObject({ kind: "not_found", scope: "provider", status: 404 });
  });

  it("routes image URLs away from Ollama (bytes only) and says so when nothing else can take them", async () => {
    const f = await fake();
    const s = await startServer({ providers: [cfg(f, { capabilities: { vision: true } })] });
    cleanup.push(() => s.close());
    const url = { part: { case: "image" as const, value: { source: { case: "url" as const, value: "https://example.com/cat.png" } } } };
    const err = ConnectError.from(await s.grpc.chat({ messages: [{ role: "user", content: "what?", parts: [url] }] }).catch((e) => e));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/images, some by URL/);
    expect(f.chatRequests()).toHaveLength(0);
    // Inline bytes and data: URLs work.
    const data = { part: { case: "image" as const, value: { source: { case: "url" as const, value: "data:image/png;base64,iVBORw0KGgo=" } } } };
    await s.grpc.chat({ messages: [{ role: "user", content: "what?", parts: [data] }] });
    expect(f.chatRequests()[0]!.body.messages[0].images).toEqual(["iVBORw0KGgo="]);
    // An adapter reached anyway refuses clearly, as a request error.
    const p = adapterFor(cfg(f, { capabilities: { vision: true } }));
    cleanup.push(() => p.close());
    const e = await providerError(p.chat(callOf({ messages: [{ role: "user", parts: [url] }] }, "llama3.2:latest")));
    expect(e).toMatchObject({ kind: "bad_request", scope: "request" });
    expect(e.message).toMatch(/messages\[0\]\.parts\[0\]\.image\.url: provider type ollama takes images only as inline bytes/);
  });

  it("sends URL images to a provider that takes URLs, bytes to either", async () => {
    const f = await fake();
    const claude = await startFakeAnthropic("claude");
    cleanup.push(() => claude.close());
    const s = await startServer({
      pool: { strategy: "round_robin" },
      providers: [
        cfg(f, { capabilities: { vision: true }, models: { vis: "llava" } }),
        { name: "claude", type: "anthropic", base_url: claude.origin, api_key: "sk-ant-x-0123456789", models: { vis: "claude-3-5-haiku-latest" } },
      ],
    });
    cleanup.push(() => s.close());
    const url = { part: { case: "image" as const, value: { source: { case: "url" as const, value: "https://example.com/cat.png" } } } };
    for (let i = 0; i < 3; i++) {
      const res = await s.grpc.chat({ model: "vis", messages: [{ role: "user", content: "what?", parts: [url] }] });
      expect(res.provider).toBe("claude");
    }
    expect(f.chatRequests()).toHaveLength(0);
    const bytes = { part: { case: "image" as const, value: { source: { case: "data" as const, value: new Uint8Array([1, 2, 3]) }, mimeType: "image/png" } } };
    const served = new Set<string>();
    for (let i = 0; i < 2; i++) served.add((await s.grpc.chat({ model: "vis", messages: [{ role: "user", content: "what?", parts: [bytes] }] })).provider);
    expect([...served].sort()).toEqual(["claude", "local"]);
  });

  it("sends tool calls with parsed arguments and tool results with tool_name; tool_choice none drops tools", async () => {
    const f = await fake();
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    await p.chat(
      callOf(
        {
          messages: [user("w?"), { role: "assistant", toolCalls: [{ id: "c", name: "w", arguments: '{"a":1}' }] }, { role: "tool", toolCallId: "c", content: "sunny" }],
          tools: [{ name: "w" }],
          toolChoice: { mode: "none" },
        },
        "llama3.2:latest",
        "It is",
      ),
    );
    const body = f.chatRequests()[0]!.body;
    expect(body.messages.slice(1)).toEqual([
      { role: "assistant", content: "", tool_calls: [{ function: { name: "w", arguments: { a: 1 } } }] },
      { role: "tool", content: "sunny", tool_name: "w" },
      { role: "assistant", content: "It is" },
    ]);
    expect(body.tools).toBeUndefined();
  });

  it("discovers local models from /api/tags and probes /api/version", async () => {
    const f = await fake();
    const s = await startServer({ providers: [cfg(f, { models: [], discover_models: true })] });
    cleanup.push(() => s.close());
    expect((await s.grpc.listModels({})).models.map((m) => m.name)).toEqual(["llama3.2:latest", "qwen2.5:7b"]);
    const p = adapterFor(cfg(f));
    cleanup.push(() => p.close());
    await p.probe!(AbortSignal.timeout(2000));
    expect(f.requests.at(-1)!.path).toBe("/api/version");
  });
});

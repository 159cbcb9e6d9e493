/**
 * Level 3: the real server against fake OpenAI-compatible upstreams on 127.0.0.1.
 */
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { startFakeOpenAI } from "./helpers/fake-openai.js";
import { openaiProvider, user } from "./helpers/server.js";
import { harness, failure as error } from "./helpers/harness.js";

const { cleanup, fakes, serve } = harness();


describe("OpenAI-compatible upstream", () => {
  it("maps a unary chat both ways and sends the right headers", async () => {
    const [up] = await fakes("up");
    up!.behave({ reply: "Paris.", usage: { prompt_tokens: 21, completion_tokens: 2, prompt_tokens_details: { cached_tokens: 5 } } });
    const s = await serve({
      providers: [openaiProvider("up", up!.url, { models: { smart: "gpt-4o-2024" }, headers: { "x-team": "core" }, pricing: { input_per_1m: 2, output_per_1m: 8, cached_input_per_1m: 1 } })],
    });
    const res = await s.grpc.chat(
      {
        model: "smart",
        messages: [
          { role: "system", content: "Be terse." },
          user("Capital of France?"),
        ],
        temperature: 0.2,
        maxTokens: 50,
        topP: 0.9,
        stop: ["\n\n"],
        metadata: { tenant: "acme" },
      },
      { headers: { "x-request-id": "req-123" } },
    );
    expect(res).toMatchObject({
      model: "gpt-4o-2024",
      message: { role: "assistant", content: "Paris." },
      finishReason: "stop",
      rawFinishReason: "stop",
      provider: "up",
      attempts: 1,
      requestId: "req-123",
      usage: { promptTokens: 21, completionTokens: 2, totalTokens: 23, cachedTokens: 5, estimated: false },
    });
    expect(res.latencyMs).toBeGreaterThan(0);
    expect(res.costUsd).toBeCloseTo((16 * 2 + 5 * 1 + 2 * 8) / 1e6, 12);
    const [got] = up!.chatRequests();
    expect(got!.headers.authorization).toBe("Bearer sk-test-up-secret-0123456789");
    expect(got!.headers["x-team"]).toBe("core");
    expect(got!.body).toEqual({
      model: "gpt-4o-2024",
      messages: [
        { role: "system", content: "Be terse." },
        { role: "user", content: "Capital of France?" },
      ],
      temperature: 0.2,
      top_p: 0.9,
      max_completion_tokens: 50,
      stop: ["\n\n"],
    });
  });

  it("streams deltas as they arrive and ends with usage from include_usage", async () => {
    const [up] = await fakes("up");
    up!.behave({ chunks: ["Hel", "lo ", "wor", "ld"], chunkDelayMs: 5, usage: { prompt_tokens: 7, completion_tokens: 4 } });
    const s = await serve({ providers: [openaiProvider("up", up!.url)] });
    const chunks = [];
    for await (const c of s.grpc.streamChat({ messages: [user("hi")] })) chunks.push(c);
    expect(chunks.map((c) => c.delta)).toEqual(["Hel", "lo ", "wor", "ld", ""]);
    expect(chunks[0]).toMatchObject({ provider: "up", id: "chatcmpl-up-1", model: "gpt-4o-mini" });
    const last = chunks.at(-1)!;
    expect(last).toMatchObject({
      finishReason: "stop",
      provider: "up",
      attempts: 1,
      usage: { promptTokens: 7, completionTokens: 4, totalTokens: 11, estimated: false },
    });
    expect(last.ttftMs).toBeGreaterThan(0);
    const body = up!.chatRequests()[0]!.body;
    expect(body.stream).toBe(true);
    expect(body.stream_options).toEqual({ include_usage: true });
  });

  it("streams tool-call deltas and returns tool calls on unary", async () => {
    const [up] = await fakes("up");
    up!.behave({ toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' }] });
    const s = await serve({ providers: [openaiProvider("up", up!.url)] });
    const tools = [{ name: "get_weather", description: "Weather now", parameters: { type: "object", properties: { city: { type: "string" } } } }];
    const res = await s.connect.chat({ messages: [user("weather?")], tools, toolChoice: { mode: "auto" } });
    expect(res.finishReason).toBe("tool_calls");
    expect(res.message?.toolCalls).toEqual([expect.objectContaining({ id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' })]);
    expect(up!.chatRequests()[0]!.body.tools[0]).toEqual({ type: "function", function: { name: "get_weather", description: "Weather now", parameters: tools[0]!.parameters } });
    const deltas = [];
    for await (const c of s.grpc.streamChat({ messages: [user("weather?")], tools })) deltas.push(...c.toolCalls);
    expect(deltas.map((d) => [d.index, d.id, d.name, d.argumentsDelta])).toEqual([
      [0, "call_1", "get_weather", ""],
      [0, "", "", '{"city":"Paris"}'],
    ]);
  });

  it("retries a 5xx on the next provider and reports attempts", async () => {
    const [bad, good] = await fakes("bad", "good");
    bad!.behave({ status: 500, errorBody: { error: { message: "boom", type: "server_error" } } });
    const s = await serve({ pool: { strategy: "round_robin" }, providers: [openaiProvider("bad", bad!.url), openaiProvider("good", good!.url)] });
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await s.grpc.chat({ messages: [user("x")] }));
    expect(results.every((r) => r.provider === "good")).toBe(true);
    expect(results.some((r) => r.attempts === 2 && r.providersTried.join() === "bad,good")).toBe(true);
    expect(good!.chatRequests()).toHaveLength(4);
  });

  it("does not retry a 400 and says why, with INVALID_ARGUMENT", async () => {
    const [a, b] = await fakes("a", "b");
    for (const f of [a!, b!]) f.behave({ status: 400, errorBody: { error: { message: "Invalid value for 'messages'", type: "invalid_request_error" } } });
    const s = await serve({ providers: [openaiProvider("a", a!.url), openaiProvider("b", b!.url)] });
    const err = await error(s.grpc.chat({ messages: [user("x")] }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/rejected the request: invalid_request_error: Invalid value for 'messages'/);
    expect(a!.chatRequests().length + b!.chatRequests().length).toBe(1);
  });

  it("answers UNAVAILABLE naming every provider's last error and never a key", async () => {
    const [a, b] = await fakes("a", "b");
    a!.behave({ status: 401, errorBody: { error: { message: "Incorrect API key provided: sk-test-a-secret-0123456789", code: "invalid_api_key" } } });
    b!.behave({ status: 503, errorBody: { error: { message: "overloaded" } } });
    const s = await serve({ pool: { max_retries: 1 }, providers: [openaiProvider("a", a!.url), openaiProvider("b", b!.url)] });
    const err = await error(s.grpc.chat({ messages: [user("x")] }));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toMatch(/a: auth \(HTTP 401\): invalid_api_key: Incorrect API key provided: \[REDACTED\]/);
    expect(err.rawMessage).toMatch(/b: overloaded \(HTTP 503\): overloaded/);
    expect(err.rawMessage).not.toContain("secret");
    // A rejected key takes the provider out of rotation until its config changes.
    const stats = await s.grpc.getPoolStats({ providers: ["a"] });
    expect(stats.providers[0]!.healthy).toBe(false);
    expect(JSON.stringify(stats.providers, (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain("secret-0123456789");
  });

  it("times out a slow upstream after timeout_ms and moves on", async () => {
    const [slow, fast] = await fakes("slow", "fast");
    slow!.behave({ hang: true });
    const s = await serve({ pool: { strategy: "round_robin" }, providers: [openaiProvider("slow", slow!.url, { timeout_ms: 150 }), openaiProvider("fast", fast!.url)] });
    const res1 = await s.grpc.chat({ messages: [user("x")] });
    const res2 = await s.grpc.chat({ messages: [user("x")] });
    const viaSlow = [res1, res2].find((r) => r.attempts === 2)!;
    expect(viaSlow.provider).toBe("fast");
    expect((await slow!.waitForAbort()).aborted).toBe(true);
  });

  it("honours the client deadline and aborts the upstream request", async () => {
    const [hung] = await fakes("hung");
    hung!.behave({ hang: true });
    const s = await serve({ providers: [openaiProvider("hung", hung!.url)] });
    const started = Date.now();
    const err = await error(s.grpc.chat({ messages: [user("x")] }, { timeoutMs: 200 }));
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await hung!.waitForAbort()).aborted).toBe(true);
  });

  it("aborts the upstream stream when the client cancels", async () => {
    const [up] = await fakes("up");
    up!.behave({ chunks: Array.from({ length: 200 }, (_, i) => `w${i} `), chunkDelayMs: 20 });
    const s = await serve({ providers: [openaiProvider("up", up!.url)] });
    const ac = new AbortController();
    let n = 0;
    await expect(
      (async () => {
        for await (const _c of s.grpc.streamChat({ messages: [user("x")] }, { signal: ac.signal })) {
          if (++n === 3) ac.abort();
        }
      })(),
    ).rejects.toThrow();
    expect((await up!.waitForAbort()).aborted).toBe(true);
  });

  it("fails a stream over before its first token, and errors clearly after it (resume off)", async () => {
    const [bad, good] = await fakes("bad", "good");
    bad!.behave({ status: 502 });
    const s = await serve({ pool: { strategy: "round_robin", stream: { resume: false } }, providers: [openaiProvider("bad", bad!.url), openaiProvider("good", good!.url)] });
    for (let i = 0; i < 2; i++) {
      const chunks = [];
      for await (const c of s.grpc.streamChat({ messages: [user("x")] })) chunks.push(c);
      expect(chunks[0]!.provider).toBe("good");
      expect(chunks.map((c) => c.delta).join("")).toBe("Hello from good");
    }
    bad!.behave({ errorAfterChunks: 2, chunks: ["a ", "b ", "c "] });
    good!.behave({ errorAfterChunks: 2, chunks: ["a ", "b ", "c "] });
    const got: string[] = [];
    const err = await error(
      (async () => {
        for await (const c of s.grpc.streamChat({ messages: [user("x")] })) got.push(c.delta);
      })(),
    );
    expect(got.join("")).toBe("a b ");
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toMatch(/failed after 4 characters were delivered: stream: error event in stream: server_error: upstream exploded mid-stream/);
  });

  it("treats a connection refused as retryable", async () => {
    const [good] = await fakes("good");
    const s = await serve({
      pool: { strategy: "round_robin" },
      providers: [openaiProvider("down", "http://127.0.0.1:1/v1"), openaiProvider("good", good!.url)],
    });
    for (let i = 0; i < 3; i++) expect((await s.grpc.chat({ messages: [user("x")] })).provider).toBe("good");
    const stats = await s.grpc.getPoolStats({ providers: ["down"] });
    expect(stats.providers[0]!.lastError).toMatch(/^connect: ECONNREFUSED/);
  });

  it("discovers models from /models when discover_models is set", async () => {
    const up = await startFakeOpenAI("disc", ["llama-3-8b", "qwen-7b"]);
    cleanup.push(() => up.close());
    const s = await serve({ providers: [{ name: "local", type: "vllm", base_url: up.url, discover_models: true }] });
    const models = await s.grpc.listModels({});
    expect(models.models.map((m) => m.name)).toEqual(["llama-3-8b", "qwen-7b"]);
    const res = await s.grpc.chat({ model: "qwen-7b", messages: [user("x")] });
    expect(res.model).toBe("qwen-7b");
    expect(up.chatRequests()[0]!.headers.authorization).toBeUndefined();
  });
});

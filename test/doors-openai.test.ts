/**
 * The OpenAI door through the official `openai` SDK, against a real llmpool whose providers
 * are an Anthropic and an Ollama upstream (fakes on loopback).
 */
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { doorPool, GATEWAY_KEY, MODEL, prefillOf, TOOL_CALL } from "./helpers/doors.js";
import { harness } from "./helpers/harness.js";

const h = harness();
const client = (url: string, apiKey = GATEWAY_KEY) => new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 });

describe("OpenAI door", () => {
  it("chat: an Anthropic upstream answers, with provenance headers", async () => {
    const { s, first } = await doorPool(h, ["anthropic", "ollama"]);
    first.behave({ reply: "Bonjour from claude", usage: { prompt: 12, completion: 3 } });
    const { data, response } = await client(s.url)
      .chat.completions.create({ model: MODEL, messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hi" }] }, { headers: { "x-request-id": "req-openai-1" } })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe("Bonjour from claude");
    expect(data.choices[0]!.finish_reason).toBe("stop");
    expect(data.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 });
    expect(response.headers.get("x-llmpool-provider")).toBe("up-anthropic");
    expect(response.headers.get("x-llmpool-attempts")).toBe("1");
    expect(Number(response.headers.get("x-llmpool-cost-usd"))).toBeCloseTo((12 * 1 + 3 * 2) / 1e6, 10);
    expect(response.headers.get("x-request-id")).toBe("req-openai-1");
  });

  it("stream with include_usage: deltas, a finish chunk, a usage chunk, then [DONE]", async () => {
    const { s, first } = await doorPool(h, ["anthropic", "ollama"]);
    first.behave({ chunks: ["one ", "two ", "three"], usage: { prompt: 7, completion: 3 } });
    const stream = await client(s.url).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "count" }], stream: true, stream_options: { include_usage: true } });
    let text = "";
    const chunks = [];
    for await (const c of stream) {
      chunks.push(c);
      text += c.choices[0]?.delta.content ?? "";
    }
    expect(text).toBe("one two three");
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe("stop");
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 });
  });

  it("tools: tool definitions go upstream; tool calls come back, unary and streamed", async () => {
    const { s, first } = await doorPool(h, ["ollama", "anthropic"]);
    first.behave({ toolCalls: [TOOL_CALL] });
    const tools = [{ type: "function" as const, function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }];
    const c = client(s.url);
    const res = await c.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "weather?" }], tools });
    const call = res.choices[0]!.message.tool_calls![0]!;
    expect(res.choices[0]!.finish_reason).toBe("tool_calls");
    expect(call.type === "function" && call.function).toMatchObject({ name: "get_weather" });
    expect(JSON.parse((call as { function: { arguments: string } }).function.arguments)).toEqual({ city: "Paris" });
    // The tool's answer goes back as a tool message: the upstream receives the whole exchange.
    first.behave({ reply: "Sunny in Paris" });
    const next = await c.chat.completions.create({
      model: MODEL,
      tools,
      messages: [{ role: "user", content: "weather?" }, res.choices[0]!.message, { role: "tool", tool_call_id: call.id, content: "sunny" }],
    });
    expect(next.choices[0]!.message.content).toBe("Sunny in Paris");
    first.behave({ toolCalls: [TOOL_CALL] });
    const runner = c.chat.completions.stream({ model: MODEL, messages: [{ role: "user", content: "weather?" }], tools });
    const final = await runner.finalChatCompletion();
    const streamed = final.choices[0]!.message.tool_calls![0]! as { function: { name: string; arguments: string } };
    expect(streamed.function.name).toBe("get_weather");
    expect(JSON.parse(streamed.function.arguments)).toEqual({ city: "Paris" });
  });

  it("image_url parts and response_format reach the upstream", async () => {
    const { s, first } = await doorPool(h, ["anthropic", "ollama"]);
    first.behave({ reply: '{"ok":true}' });
    const png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    const res = await client(s.url).chat.completions.create({
      model: MODEL,
      response_format: { type: "json_object" },
      messages: [{ role: "user", content: [{ type: "text", text: "what is it?" }, { type: "image_url", image_url: { url: png } }] }],
    });
    expect(res.choices[0]!.message.content).toBe('{"ok":true}');
  });

  it("models: lists the served models", async () => {
    const { s } = await doorPool(h, ["anthropic", "ollama"]);
    const ids = [];
    for await (const m of client(s.url).models.list()) ids.push(m.id);
    expect(ids).toEqual([MODEL]);
    expect((await client(s.url).models.retrieve(MODEL)).id).toBe(MODEL);
  });

  it("errors: wrong key → AuthenticationError, unknown model → NotFoundError naming it, n=2 → BadRequestError naming n", async () => {
    const { s } = await doorPool(h, ["anthropic", "ollama"]);
    const bad = await client(s.url, "wrong-key-0123456789").chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
    expect(bad).toBeInstanceOf(OpenAI.AuthenticationError);
    const missing = await client(s.url).chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing.message).toContain('"no-such-model"');
    const n = await client(s.url).chat.completions.create({ model: MODEL, n: 2, messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
    expect(n).toBeInstanceOf(OpenAI.BadRequestError);
    expect(n.param).toBe("n");
    const role = await client(s.url).chat.completions.create({ model: MODEL, messages: [{ role: "nobody" as "user", content: "hi" }] }).catch((e) => e);
    expect(role).toBeInstanceOf(OpenAI.BadRequestError);
    expect(role.param).toBe("messages[0].role");
  });

  it("an upstream killed mid-test: the next calls (unary and streamed) fail over with no client error", async () => {
    const { s, first, second } = await doorPool(h, ["anthropic", "ollama"]);
    second.behave({ reply: "from the second" });
    const c = client(s.url);
    expect((await c.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] })).choices[0]!.message.content).toBe("Hello from up-anthropic");
    await first.kill();
    const { data, response } = await c.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] }).withResponse();
    expect(data.choices[0]!.message.content).toBe("from the second");
    expect(response.headers.get("x-llmpool-provider")).toBe("up-ollama");
    let text = "";
    for await (const ch of await c.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }], stream: true })) text += ch.choices[0]?.delta.content ?? "";
    expect(text).toBe("from the second");
  });

  it("a stream broken mid-answer is continued by the other provider inside the same SSE stream", async () => {
    // This fake ollama continues a prefill, so it says so (on_break: resume splices only then).
    const { s, first, second } = await doorPool(h, ["anthropic", "ollama"], { second: { capabilities: { prefill: true } } });
    first.behave({ chunks: ["The ", "quick ", "brown ", "fox."], dropAfterChunks: 2, chunkDelayMs: 20 });
    second.behave({ chunks: ["brown ", "fox."] });
    let text = "";
    for await (const ch of await client(s.url).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "say it" }], stream: true })) {
      text += ch.choices[0]?.delta.content ?? "";
    }
    // The second provider got the delivered text as an assistant prefill and its answer was spliced in.
    const prefill = prefillOf(second);
    expect(prefill).toMatch(/^The/);
    expect(text).toMatch(/^The (quick )?brown fox\.$/);
  });

  it("a stream that would restart (no prefill on the next provider) ends with an error event, never a garbled answer", async () => {
    const { s, first, second } = await doorPool(h, ["anthropic", "ollama"]);
    first.behave({ chunks: ["The ", "quick ", "brown ", "fox."], dropAfterChunks: 2, chunkDelayMs: 20 });
    second.behave({ chunks: ["The ", "quick ", "brown ", "fox."] });
    let text = "";
    const err = await (async () => {
      for await (const ch of await client(s.url).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "say it" }], stream: true })) {
        text += ch.choices[0]?.delta.content ?? "";
      }
    })().catch((e) => e);
    expect(text).toMatch(/^The /);
    expect(text).not.toMatch(/The .*The /);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err.message).toContain("would start the answer over, which this API cannot express");
    expect(prefillOf(second)).toBe("");
  });

  it("a stream that cannot be resumed ends with an error event the SDK raises", async () => {
    const { s, first } = await doorPool(h, ["anthropic", "ollama"], { pool: { stream: { resume: false } } });
    first.behave({ chunks: ["The ", "quick ", "brown ", "fox."], dropAfterChunks: 2, chunkDelayMs: 20 });
    let text = "";
    const err = await (async () => {
      for await (const ch of await client(s.url).chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "say it" }], stream: true })) {
        text += ch.choices[0]?.delta.content ?? "";
      }
    })().catch((e) => e);
    expect(text).toMatch(/^The /);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err.message).toContain(`stream from up-anthropic failed after ${text.length} characters were delivered`);
  });
});

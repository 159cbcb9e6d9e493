/**
 * The Anthropic door through the official `@anthropic-ai/sdk`, against a real llmpool whose
 * providers are an OpenAI and an Ollama upstream (fakes on loopback).
 */
import Anthropic from "@anthropic-ai/sdk";
import { describe, expect, it } from "vitest";
import { doorPool, GATEWAY_KEY, MODEL, prefillOf, TOOL_CALL } from "./helpers/doors.js";
import { harness } from "./helpers/harness.js";

const h = harness();
const client = (url: string, apiKey = GATEWAY_KEY) => new Anthropic({ baseURL: url, apiKey, maxRetries: 0 });
const ask = (text: string) => [{ role: "user" as const, content: text }];

describe("Anthropic door", () => {
  it("messages: system prompt and turns go to an OpenAI upstream; the answer and provenance come back", async () => {
    const { s, first } = await doorPool(h, ["openai", "ollama"]);
    first.behave({ reply: "Hi from openai", usage: { prompt: 9, completion: 4 } });
    const { data, response } = await client(s.url)
      .messages.create({ model: MODEL, max_tokens: 100, system: "be brief", messages: ask("hello") })
      .withResponse();
    expect(data.content).toEqual([{ type: "text", text: "Hi from openai" }]);
    expect(data.stop_reason).toBe("end_turn");
    expect(data.usage).toMatchObject({ input_tokens: 9, output_tokens: 4 });
    expect(response.headers.get("x-llmpool-provider")).toBe("up-openai");
    expect(response.headers.get("x-llmpool-attempts")).toBe("1");
    expect(response.headers.get("x-request-id")).toBeTruthy();
    const sent = first.lastMessages();
    expect(sent[0]).toMatchObject({ role: "system", content: "be brief" });
    expect(sent[1]).toMatchObject({ role: "user", content: "hello" });
  });

  it("stream: the named-event SSE stream, assembled by the SDK", async () => {
    const { s, first } = await doorPool(h, ["openai", "ollama"]);
    first.behave({ chunks: ["one ", "two ", "three"], usage: { prompt: 5, completion: 3 } });
    const stream = client(s.url).messages.stream({ model: MODEL, max_tokens: 100, messages: ask("count") });
    const types: string[] = [];
    stream.on("streamEvent", (e) => types.push(e.type));
    const final = await stream.finalMessage();
    expect(final.content).toEqual([expect.objectContaining({ type: "text", text: "one two three" })]);
    expect(final.stop_reason).toBe("end_turn");
    expect(final.usage.output_tokens).toBe(3);
    expect(types[0]).toBe("message_start");
    expect(types.at(-1)).toBe("message_stop");
    expect(types).toContain("content_block_delta");
  });

  it("tools and images: tool_use comes back; tool_result and image blocks go upstream", async () => {
    const { s, first } = await doorPool(h, ["openai", "ollama"]);
    first.behave({ toolCalls: [TOOL_CALL] });
    const tools = [{ name: "get_weather", description: "Weather", input_schema: { type: "object" as const, properties: { city: { type: "string" } } } }];
    const c = client(s.url);
    const res = await c.messages.create({ model: MODEL, max_tokens: 100, tools, messages: ask("weather?") });
    expect(res.stop_reason).toBe("tool_use");
    const use = res.content.find((b) => b.type === "tool_use")!;
    expect(use).toMatchObject({ type: "tool_use", name: "get_weather", input: { city: "Paris" } });
    first.behave({ reply: "Sunny" });
    const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    const next = await c.messages.create({
      model: MODEL,
      max_tokens: 100,
      tools,
      messages: [
        { role: "user", content: [{ type: "text", text: "weather here?" }, { type: "image", source: { type: "base64", media_type: "image/png", data: png } }] },
        { role: "assistant", content: res.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: (use as { id: string }).id, content: "sunny" }] },
      ],
    });
    expect(next.content).toEqual([{ type: "text", text: "Sunny" }]);
    const sent = first.lastMessages();
    expect(JSON.stringify(sent[0])).toContain(`data:image/png;base64,${png}`);
    expect(sent.at(-1)).toMatchObject({ role: "tool", content: "sunny", tool_call_id: TOOL_CALL.id });
    // Streamed tool use: input_json_delta fragments the SDK assembles.
    first.behave({ toolCalls: [TOOL_CALL] });
    const streamed = await c.messages.stream({ model: MODEL, max_tokens: 100, tools, messages: ask("weather?") }).finalMessage();
    expect(streamed.content.find((b) => b.type === "tool_use")).toMatchObject({ name: "get_weather", input: { city: "Paris" } });
  });

  it("errors: wrong key → AuthenticationError, unknown model → NotFoundError naming it, bad field → BadRequestError", async () => {
    const { s } = await doorPool(h, ["openai", "ollama"]);
    const bad = await client(s.url, "wrong-key-0123456789").messages.create({ model: MODEL, max_tokens: 10, messages: ask("hi") }).catch((e) => e);
    expect(bad).toBeInstanceOf(Anthropic.AuthenticationError);
    // The bearer form of the gateway key works too.
    const bearer = new Anthropic({ baseURL: s.url, authToken: GATEWAY_KEY, apiKey: null, maxRetries: 0 });
    expect((await bearer.messages.create({ model: MODEL, max_tokens: 10, messages: ask("hi") })).content.length).toBe(1);
    const missing = await client(s.url).messages.create({ model: "claude-nope", max_tokens: 10, messages: ask("hi") }).catch((e) => e);
    expect(missing).toBeInstanceOf(Anthropic.NotFoundError);
    expect(missing.error.error.message).toContain('model "claude-nope" is not served');
    expect(missing.error).toMatchObject({ type: "error", error: { type: "not_found_error" } });
    const role = await client(s.url).messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: "system" as "user", content: "x" }] }).catch((e) => e);
    expect(role).toBeInstanceOf(Anthropic.BadRequestError);
    expect(role.message).toContain("messages[0].role");
  });

  it("an upstream killed mid-test, and a stream broken mid-answer: no client error, the answer is spliced", async () => {
    // This fake ollama continues a prefill, so it says so (on_break: resume splices only then).
    const { s, first, second } = await doorPool(h, ["openai", "ollama"], { second: { capabilities: { prefill: true } } });
    const c = client(s.url);
    first.behave({ chunks: ["The ", "quick ", "brown ", "fox."], dropAfterChunks: 2 });
    second.behave({ chunks: ["brown ", "fox."] });
    const final = await c.messages.stream({ model: MODEL, max_tokens: 100, messages: ask("say it") }).finalMessage();
    const prefill = prefillOf(second);
    expect(prefill).toMatch(/^The/);
    expect(final.content.map((b) => (b.type === "text" ? b.text : "")).join("")).toMatch(/^The (quick )?brown fox\.$/);
    await first.kill();
    second.behave({ reply: "still here" });
    const res = await c.messages.create({ model: MODEL, max_tokens: 100, messages: ask("hi") });
    expect(res.content).toEqual([{ type: "text", text: "still here" }]);
  });

  it("a stream that cannot be resumed ends with the SSE error event", async () => {
    const { s, first } = await doorPool(h, ["openai", "ollama"], { pool: { stream: { resume: false } } });
    first.behave({ chunks: ["The ", "quick ", "brown ", "fox."], dropAfterChunks: 2 });
    const err = await client(s.url).messages.stream({ model: MODEL, max_tokens: 100, messages: ask("say it") }).finalMessage().catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect(err.message).toMatch(/stream from up-openai failed after 10 characters were delivered/);
  });
});

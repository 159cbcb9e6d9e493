/**
 * The Ollama door through the official `ollama` client, against a real llmpool whose
 * providers are an OpenAI and an Anthropic upstream (fakes on loopback), plus the pool views
 * and the `server.ollama_port` listener.
 */
import { Ollama } from "ollama";
import { describe, expect, it } from "vitest";
import { doorPool, GATEWAY_KEY, MODEL, prefillOf, TOOL_CALL } from "./helpers/doors.js";
import { harness } from "./helpers/harness.js";

const h = harness();
const client = (url: string, key = GATEWAY_KEY) => new Ollama({ host: url, headers: { authorization: `Bearer ${key}` } });
const ask = (content: string) => [{ role: "user", content }];

describe("Ollama door", () => {
  it("chat (not streamed) and generate: an OpenAI upstream answers, with Ollama's counts", async () => {
    const { s, first } = await doorPool(h, ["openai", "anthropic"]);
    first.behave({ reply: "hello there", usage: { prompt: 6, completion: 2 } });
    const c = client(s.url);
    const res = await c.chat({ model: MODEL, messages: ask("hi"), stream: false, options: { temperature: 0.2, num_predict: 50 } });
    expect(res.message).toMatchObject({ role: "assistant", content: "hello there" });
    expect(res).toMatchObject({ done: true, done_reason: "stop", prompt_eval_count: 6, eval_count: 2, model: MODEL });
    const gen = await c.generate({ model: MODEL, prompt: "say hi", system: "be brief", stream: false });
    expect(gen.response).toBe("hello there");
    expect(first.lastMessages()).toMatchObject([{ role: "system", content: "be brief" }, { role: "user", content: "say hi" }]);
  });

  it("streams NDJSON by default (chat and generate), ending with a done line", async () => {
    const { s, first } = await doorPool(h, ["anthropic", "openai"]);
    first.behave({ chunks: ["one ", "two ", "three"], usage: { prompt: 4, completion: 3 } });
    const c = client(s.url);
    let text = "";
    let last;
    for await (const part of await c.chat({ model: MODEL, messages: ask("count"), stream: true })) {
      text += part.message.content;
      last = part;
    }
    expect(text).toBe("one two three");
    expect(last).toMatchObject({ done: true, eval_count: 3 });
    let gen = "";
    for await (const part of await c.generate({ model: MODEL, prompt: "count", stream: true })) gen += part.response;
    expect(gen).toBe("one two three");
    // Raw: streaming is the default when `stream` is absent.
    const raw = await fetch(`${s.url}/api/chat`, { method: "POST", headers: { authorization: `Bearer ${GATEWAY_KEY}` }, body: JSON.stringify({ model: MODEL, messages: ask("count") }) });
    expect(raw.headers.get("content-type")).toBe("application/x-ndjson");
    expect(raw.headers.get("x-llmpool-provider")).toBe("up-anthropic");
    const lines = (await raw.text()).trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.length).toBe(4);
    expect(lines.at(-1).done).toBe(true);
  });

  it("tools: tool calls come back as objects; tool answers go upstream with the call's id", async () => {
    const { s, first } = await doorPool(h, ["anthropic", "openai"]);
    first.behave({ toolCalls: [TOOL_CALL] });
    const c = client(s.url);
    const tools = [{ type: "function", function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }];
    const res = await c.chat({ model: MODEL, messages: ask("weather?"), tools, stream: false });
    expect(res.message.tool_calls).toEqual([{ function: { name: "get_weather", arguments: { city: "Paris" } } }]);
    first.behave({ reply: "Sunny" });
    const next = await c.chat({ model: MODEL, tools, stream: false, messages: [...ask("weather?"), res.message, { role: "tool", content: "sunny", tool_name: "get_weather" } as never] });
    expect(next.message.content).toBe("Sunny");
    first.behave({ toolCalls: [TOOL_CALL] });
    const calls = [];
    for await (const part of await c.chat({ model: MODEL, messages: ask("weather?"), tools, stream: true })) calls.push(...(part.message.tool_calls ?? []));
    expect(calls).toEqual([{ function: { name: "get_weather", arguments: { city: "Paris" } } }]);
  });

  it("list, ps, version and the pool views", async () => {
    const { s } = await doorPool(h, ["openai", "anthropic"]);
    const c = client(s.url);
    expect((await c.list()).models.map((m) => m.name)).toEqual([MODEL]);
    expect((await c.ps()).models.map((m) => m.name)).toEqual([MODEL]);
    expect((await c.version()).version).toMatch(/^\d+\.\d+\.\d+/);
    const get = (path: string) => fetch(`${s.url}${path}`, { headers: { authorization: `Bearer ${GATEWAY_KEY}` } });
    const byProvider = await get("/api/tags/up-openai");
    expect(((await byProvider.json()) as { models: { name: string }[] }).models.map((m) => m.name)).toEqual([MODEL]);
    expect((await get("/api/tags/nobody")).status).toBe(404);
    const providers = (await (await get("/api/providers")).json()) as { providers: { name: string; type: string }[] };
    expect(providers.providers.map((p) => [p.name, p.type])).toEqual([["up-openai", "openai"], ["up-anthropic", "anthropic"]]);
    const one = (await (await get("/api/providers/up-anthropic/stats")).json()) as { name: string; healthy: boolean };
    expect(one).toMatchObject({ name: "up-anthropic", healthy: true });
    const unknown = await get("/api/providers/nobody/stats");
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toContain('"nobody"');
    const health = await get("/health/providers");
    expect(health.status).toBe(200);
    expect(((await health.json()) as { serving: boolean; providers: unknown[] })).toMatchObject({ serving: true, providers: [{ name: "up-openai" }, { name: "up-anthropic" }] });
    expect((await get("/health/providers/up-openai")).status).toBe(200);
  });

  it("errors: wrong key → 401 ResponseError, unknown model → 404 naming it, bad field → 400 naming it", async () => {
    const { s } = await doorPool(h, ["openai", "anthropic"]);
    const bad = await client(s.url, "wrong-key-0123456789").chat({ model: MODEL, messages: ask("hi"), stream: false }).catch((e) => e);
    expect(bad).toMatchObject({ name: "ResponseError", status_code: 401 });
    const missing = await client(s.url).chat({ model: "llama-nope", messages: ask("hi"), stream: false }).catch((e) => e);
    expect(missing).toMatchObject({ name: "ResponseError", status_code: 404 });
    expect(missing.error).toContain('model "llama-nope" is not served');
    const opt = await client(s.url).chat({ model: MODEL, messages: ask("hi"), stream: false, options: { temperature: "hot" as never } }).catch((e) => e);
    expect(opt).toMatchObject({ status_code: 400 });
    expect(opt.error).toContain("options.temperature");
  });

  it("an upstream killed mid-test, a stream broken mid-answer spliced, an unresumable one ends with an error line", async () => {
    const { s, first, second } = await doorPool(h, ["openai", "anthropic"]);
    const c = client(s.url);
    first.behave({ chunks: ["The ", "quick ", "brown ", "fox."], dropAfterChunks: 2 });
    second.behave({ chunks: ["brown ", "fox."] });
    let text = "";
    for await (const part of await c.chat({ model: MODEL, messages: ask("say it"), stream: true })) text += part.message.content;
    const prefill = prefillOf(second);
    expect(prefill).toMatch(/^The/);
    expect(text).toMatch(/^The (quick )?brown fox\.$/);
    await first.kill();
    second.behave({ reply: "still here" });
    expect((await c.generate({ model: MODEL, prompt: "hi", stream: false })).response).toBe("still here");
    second.behave({ chunks: ["a ", "b ", "c"], dropAfterChunks: 2, chunkDelayMs: 10 });
    let partial = "";
    const err = await (async () => {
      for await (const part of await c.generate({ model: MODEL, prompt: "hi", stream: true })) partial += part.response;
    })().catch((e) => e);
    expect(partial).toMatch(/^a /);
    expect(String(err?.message)).toMatch(/stream from up-\w+ failed after \d+ characters were delivered: .*not resumed/);
  });

  it("server.ollama_port: the same doors on a second listener", async () => {
    const { s } = await doorPool(h, ["openai", "anthropic"], { server: { ollama_port: 0 } });
    const port = s.server.ollamaAddress()!.port;
    expect(port).not.toBe(s.port);
    const res = await client(`http://127.0.0.1:${port}`).chat({ model: MODEL, messages: ask("hi"), stream: false });
    expect(res.message.content).toBe("Hello from up-openai");
  });
});
